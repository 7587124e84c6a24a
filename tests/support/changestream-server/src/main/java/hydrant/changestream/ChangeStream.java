package hydrant.changestream;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * One open change stream: its scope, options and position in the oplog, and the events it turns
 * oplog entries into (MongoDB's change event shapes; see ../README.md).
 */
final class ChangeStream {

    enum Scope { COLLECTION, DATABASE, CLUSTER }

    /** Resume tokens: {_data: "82" + 16 hex digits of the position + "00" (event) or "01" (invalidate)}. */
    static Document token(long ts, boolean invalidate) {
        return new Document("_data", String.format("82%016X%s", ts, invalidate ? "01" : "00"));
    }

    static final class Token {
        final long ts;
        final boolean invalidate;

        Token(long ts, boolean invalidate) {
            this.ts = ts;
            this.invalidate = invalidate;
        }
    }

    static Token parseToken(Object value) {
        Object data = value instanceof Document ? ((Document) value).get("_data") : null;
        if (data instanceof String) {
            String s = (String) data;
            if (s.length() == 20 && s.startsWith("82") && (s.endsWith("00") || s.endsWith("01"))) {
                try {
                    return new Token(Long.parseUnsignedLong(s.substring(2, 18), 16), s.endsWith("01"));
                } catch (NumberFormatException e) {
                    // fall through
                }
            }
        }
        throw new MongoServerError(260, "InvalidResumeToken", "invalid resume token: " + value);
    }

    final long id;
    final Scope scope;
    final String db;
    final String coll;
    final String fullDocument;
    final String fullDocumentBeforeChange;
    private final Aggregation pipeline;
    private final CsBackend backend;

    /** Every entry up to this position has been looked at. */
    long position;
    Document postBatchResumeToken;
    boolean closed;
    /** Resumed from the token of an event that invalidates this stream: the invalidate comes next. */
    Document pendingInvalidate;

    ChangeStream(long id, Scope scope, String db, String coll, String fullDocument, String fullDocumentBeforeChange,
                 Aggregation pipeline, CsBackend backend, long position) {
        this.id = id;
        this.scope = scope;
        this.db = db;
        this.coll = coll;
        this.fullDocument = fullDocument;
        this.fullDocumentBeforeChange = fullDocumentBeforeChange;
        this.pipeline = pipeline;
        this.backend = backend;
        this.position = position;
        this.postBatchResumeToken = token(position, false);
    }

    String namespace() {
        switch (scope) {
            case COLLECTION:
                return db + "." + coll;
            case DATABASE:
                return db + ".$cmd.aggregate";
            default:
                return "admin.$cmd.aggregate";
        }
    }

    boolean matches(Document entry) {
        switch (scope) {
            case COLLECTION:
                return db.equals(entry.get("db"))
                    && (coll.equals(entry.get("coll")) || "dropDatabase".equals(entry.get("op")));
            case DATABASE:
                return db.equals(entry.get("db"));
            default:
                return true;
        }
    }

    /** Whether this entry ends the stream (a drop or rename of its collection, a drop of its database). */
    boolean invalidatedBy(Document entry) {
        Object op = entry.get("op");
        switch (scope) {
            case COLLECTION:
                return "drop".equals(op) || "rename".equals(op) || "dropDatabase".equals(op);
            case DATABASE:
                return "dropDatabase".equals(op);
            default:
                return false;
        }
    }

    /**
     * The next events: scans the oplog from the position, at most {@code limit} events (after the
     * pipeline); returns as soon as some matched or the end of the oplog was reached. Advances the
     * position and postBatchResumeToken past everything scanned.
     */
    synchronized List<Document> next(int limit) {
        List<Document> out = new ArrayList<>();
        if (closed) {
            return out;
        }
        if (pendingInvalidate != null) {
            out.add(invalidateEvent(pendingInvalidate));
            pendingInvalidate = null;
            return out;
        }
        while (true) {
            OplogStore.Scan scan = Env.oplog.scan(position, this::matches, 1000);
            for (Document entry : scan.matched) {
                long ts = ((Number) entry.get("ts")).longValue();
                Document event = toEvent(entry);
                if (event != null) {
                    out.addAll(pipeline.runStages(Stream.of(event)));
                }
                position = ts;
                postBatchResumeToken = token(ts, false);
                if (invalidatedBy(entry)) {
                    out.add(invalidateEvent(entry));
                    closed = true;
                    return out;
                }
                if (out.size() >= limit) {
                    return out;
                }
            }
            position = scan.lastScanned;
            if (scan.atEnd) {
                postBatchResumeToken = token(scan.highWater, false);
                return out;
            }
            postBatchResumeToken = token(position, false);
            if (!out.isEmpty()) {
                return out;
            }
        }
    }

    private Document invalidateEvent(Document entry) {
        long ts = ((Number) entry.get("ts")).longValue();
        Document event = new Document("_id", token(ts, true))
            .append("operationType", "invalidate")
            .append("clusterTime", new BsonTimestamp(ts))
            .append("wallTime", entry.get("wall"));
        postBatchResumeToken = token(ts, true);
        return event;
    }

    private Document toEvent(Document entry) {
        long ts = ((Number) entry.get("ts")).longValue();
        String op = (String) entry.get("op");
        String type;
        switch (op) {
            case "i": type = "insert"; break;
            case "u": type = "update"; break;
            case "r": type = "replace"; break;
            case "d": type = "delete"; break;
            case "drop": type = "drop"; break;
            case "rename": type = "rename"; break;
            case "dropDatabase":
                if (scope == Scope.COLLECTION) {
                    return null; // the collection stream only sees the invalidate
                }
                type = "dropDatabase";
                break;
            default:
                return null;
        }
        Document event = new Document("_id", token(ts, false))
            .append("operationType", type)
            .append("clusterTime", new BsonTimestamp(ts))
            .append("wallTime", entry.get("wall"));
        Document ns = new Document("db", entry.get("db"));
        if (entry.get("coll") != null) {
            ns.append("coll", entry.get("coll"));
        }
        switch (op) {
            case "i":
            case "r":
                event.append("fullDocument", copy(entry.get("doc")));
                event.append("ns", ns);
                event.append("documentKey", copy(entry.get("key")));
                break;
            case "u":
                event.append("ns", ns);
                event.append("documentKey", copy(entry.get("key")));
                event.append("updateDescription", copy(entry.get("upd")));
                switch (fullDocument) {
                    case "updateLookup":
                        event.append("fullDocument", lookUp(entry));
                        break;
                    case "whenAvailable":
                    case "required":
                        event.append("fullDocument", copy(entry.get("doc")));
                        break;
                    default:
                        break;
                }
                break;
            case "d":
                event.append("ns", ns);
                event.append("documentKey", copy(entry.get("key")));
                break;
            case "rename":
                event.append("ns", ns);
                event.append("to", copy(entry.get("to")));
                break;
            default:
                event.append("ns", ns);
                break;
        }
        if (("u".equals(op) || "r".equals(op) || "d".equals(op))
            && ("whenAvailable".equals(fullDocumentBeforeChange) || "required".equals(fullDocumentBeforeChange))) {
            event.append("fullDocumentBeforeChange", copy(entry.get("pre")));
        }
        return event;
    }

    private static Object copy(Object value) {
        return value instanceof Document ? ((Document) value).cloneDeeply() : value;
    }

    /** fullDocument: "updateLookup": the document as it is now (null if it is gone). */
    private Document lookUp(Document entry) {
        MongoDatabase database = backend.existingDatabase((String) entry.get("db"));
        if (database == null) {
            return null;
        }
        MongoCollection<?> collection = database.resolveCollection((String) entry.get("coll"), false);
        if (collection == null) {
            return null;
        }
        Object id = ((Document) entry.get("key")).get("_id");
        for (Document document : collection.handleQuery(new Document("_id", id))) {
            return document.cloneDeeply();
        }
        return null;
    }
}
