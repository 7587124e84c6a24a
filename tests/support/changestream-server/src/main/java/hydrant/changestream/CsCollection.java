package hydrant.changestream;

import org.h2.mvstore.MVMap;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * An H2 collection that logs each write that actually happened, at the point where it happened:
 * an insert after the document was stored (so one refused with E11000 logs nothing), an update with
 * its pre- and post-image, a delete only if a document was removed. The backend's own Oplog hooks
 * (which log inserts that failed, and updates without their result) are not used.
 */
final class CsCollection extends H2Collection {

    /** The update document (or pipeline) of the update being applied on this thread. */
    private static final ThreadLocal<Object> CURRENT_UPDATE = new ThreadLocal<>();

    CsCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                 MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
        super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    public synchronized void addDocument(Document document) {
        super.addDocument(document); // throws on a duplicate key: then nothing is logged
        Env.oplog.recordInsert(getDatabaseName(), getCollectionName(), document);
    }

    @Override
    public synchronized void removeDocument(Document document) {
        int before = count();
        super.removeDocument(document);
        if (count() < before) {
            Env.oplog.recordDelete(getDatabaseName(), getCollectionName(), document);
        }
    }

    @Override
    protected void handleUpdate(Object position, Document oldDocument, Document newDocument) {
        super.handleUpdate(position, oldDocument, newDocument);
        Env.oplog.recordUpdate(getDatabaseName(), getCollectionName(), oldDocument, newDocument,
            isReplacement(CURRENT_UPDATE.get()));
    }

    private static boolean isReplacement(Object update) {
        if (!(update instanceof Document)) {
            return false; // an aggregation pipeline update, or unknown: an update
        }
        return ((Document) update).keySet().stream().noneMatch(key -> key.startsWith("$"));
    }

    @Override
    public synchronized Document updateDocuments(Document selector, Document updateQuery, ArrayFilters arrayFilters,
                                                 boolean isMulti, boolean isUpsert, Oplog oplog) {
        Object previous = CURRENT_UPDATE.get();
        CURRENT_UPDATE.set(updateQuery);
        try {
            return super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
        } finally {
            CURRENT_UPDATE.set(previous);
        }
    }

    @Override
    public synchronized Document findAndModify(Document query) {
        Object previous = CURRENT_UPDATE.get();
        CURRENT_UPDATE.set(query.get("update"));
        try {
            return super.findAndModify(query);
        } finally {
            CURRENT_UPDATE.set(previous);
        }
    }
}
