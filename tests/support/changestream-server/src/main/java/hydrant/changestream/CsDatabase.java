package hydrant.changestream;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

/** An H2 database whose collections report their writes to the oplog, and which logs drops. */
final class CsDatabase extends H2Database {

    CsDatabase(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
        super(databaseName, mvStore, cursorRegistry);
    }

    @Override
    protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
        // the same map names as H2Database uses, so data written by either stays readable
        String fullName = getFullCollectionNamespace(collectionName);
        MVMap<Object, Document> dataMap = Env.mvStore.openMap("databases." + fullName);
        MVMap<String, Object> metaMap = Env.mvStore.openMap("meta." + fullName);
        return new CsCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
    }

    @Override
    public void dropCollection(String collectionName, Oplog oplog) {
        super.dropCollection(collectionName, oplog);
        Env.oplog.recordDrop(getDatabaseName(), collectionName);
    }

    @Override
    public void drop(Oplog oplog) {
        super.drop(oplog);
        Env.oplog.recordDropDatabase(getDatabaseName());
    }
}
