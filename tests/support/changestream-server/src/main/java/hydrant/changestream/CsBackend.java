package hydrant.changestream;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import io.netty.channel.Channel;

/**
 * The H2 backend with change streams done by us: aggregate {$changeStream}, getMore and
 * killCursors of those cursors, hello/isMaster as a replica set primary, and operationTime /
 * $clusterTime on every reply. Everything else is mongo-java-server's.
 */
final class CsBackend extends H2Backend {

    static final int MAX_WIRE_VERSION = 17; // MongoDB 6.0

    private static final Set<String> WRITE_COMMANDS = Set.of("insert", "update", "delete", "findandmodify",
        "drop", "dropdatabase", "create", "createindexes", "dropindexes", "renamecollection");

    private final Map<Long, ChangeStream> streams = new ConcurrentHashMap<>();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private volatile String me = "127.0.0.1:27017";
    private volatile String setName = "rs0";

    CsBackend(MVStore store) {
        super(store);
    }

    void setMe(String me) {
        this.me = me;
    }

    void setSetName(String setName) {
        this.setName = setName;
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new CsDatabase(databaseName, Env.mvStore, getCursorRegistry());
    }

    /** The database if it exists (unlike resolveDatabase, which creates it). */
    MongoDatabase existingDatabase(String name) {
        return listDatabaseNames().contains(name) ? resolveDatabase(name) : null;
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        String name = command.toLowerCase(Locale.ROOT);
        Document response;
        switch (name) {
            case "hello":
            case "ismaster":
                response = hello(name.equals("hello"));
                break;
            case "getmore": {
                ChangeStream stream = streams.get(((Number) query.get(command)).longValue());
                response = stream != null ? getMore(stream, query) : super.handleCommand(channel, databaseName, command, query);
                break;
            }
            case "killcursors":
                response = killCursors(channel, databaseName, command, query);
                break;
            case "aggregate":
                response = isChangeStream(query)
                    ? openChangeStream(databaseName, query)
                    : super.handleCommand(channel, databaseName, command, query);
                break;
            case "renamecollection": {
                response = super.handleCommand(channel, databaseName, command, query);
                String from = String.valueOf(query.get(command));
                String to = String.valueOf(query.get("to"));
                if (!from.equals(to)) {
                    Env.oplog.recordRename(firstPart(from), rest(from), firstPart(to), rest(to));
                }
                break;
            }
            default:
                response = super.handleCommand(channel, databaseName, command, query);
                break;
        }
        if (WRITE_COMMANDS.contains(name)) {
            Env.oplog.commit(); // so an acknowledged write survives even a SIGKILL
        }
        addClusterTime(response);
        return response;
    }

    private static String firstPart(String namespace) {
        int dot = namespace.indexOf('.');
        return dot < 0 ? namespace : namespace.substring(0, dot);
    }

    private static String rest(String namespace) {
        int dot = namespace.indexOf('.');
        return dot < 0 ? "" : namespace.substring(dot + 1);
    }

    private static void addClusterTime(Document response) {
        if (response == null) {
            return;
        }
        BsonTimestamp now = new BsonTimestamp(Env.oplog.highWater());
        response.put("operationTime", now);
        response.put("$clusterTime", new Document("clusterTime", now)
            .append("signature", new Document("hash", new BinData(new byte[20])).append("keyId", 0L)));
    }

    private Document hello(boolean isHello) {
        Document r = new Document();
        if (isHello) {
            r.append("isWritablePrimary", Boolean.TRUE);
        } else {
            r.append("ismaster", Boolean.TRUE);
        }
        r.append("helloOk", Boolean.TRUE);
        if (setName != null) {
            long ts = Env.oplog.highWater();
            Document opTime = new Document("ts", new BsonTimestamp(ts)).append("t", 1L);
            Instant wall = Instant.ofEpochSecond(ts >>> 32);
            r.append("hosts", List.of(me))
                .append("setName", setName)
                .append("setVersion", 1)
                .append("secondary", Boolean.FALSE)
                .append("primary", me)
                .append("me", me)
                .append("electionId", new ObjectId("7fffffff0000000000000001"))
                .append("lastWrite", new Document("opTime", opTime).append("lastWriteDate", wall)
                    .append("majorityOpTime", opTime).append("majorityWriteDate", wall));
        }
        r.append("maxBsonObjectSize", 16 * 1024 * 1024)
            .append("maxMessageSizeBytes", 48_000_000)
            .append("maxWriteBatchSize", 100_000)
            .append("localTime", Instant.now())
            .append("logicalSessionTimeoutMinutes", 30)
            .append("connectionId", connectionIds.incrementAndGet())
            .append("minWireVersion", 0)
            .append("maxWireVersion", MAX_WIRE_VERSION)
            .append("readOnly", Boolean.FALSE)
            .append("ok", 1.0);
        return r;
    }

    // --- change streams -----------------------------------------------------------------------

    private static boolean isChangeStream(Document query) {
        Object pipeline = query.get("pipeline");
        if (!(pipeline instanceof List) || ((List<?>) pipeline).isEmpty()) {
            return false;
        }
        Object first = ((List<?>) pipeline).get(0);
        return first instanceof Document && ((Document) first).containsKey("$changeStream");
    }

    private Document openChangeStream(String databaseName, Document query) {
        List<Document> pipeline = Aggregation.parse(query.get("pipeline"));
        Document options = (Document) pipeline.get(0).get("$changeStream");
        Object target = query.get("aggregate");

        ChangeStream.Scope scope;
        String coll = null;
        if (target instanceof String) {
            scope = ChangeStream.Scope.COLLECTION;
            coll = (String) target;
            if (databaseName.equals("admin") || databaseName.equals("local") || databaseName.equals("config")) {
                throw new MongoServerError(73, "InvalidNamespace", "cannot open a change stream on " + databaseName + "." + coll);
            }
        } else if (databaseName.equals("admin")) {
            if (!Boolean.TRUE.equals(options.get("allChangesForCluster"))) {
                throw new MongoServerError(73, "InvalidNamespace",
                    "$changeStream may not be opened on the internal admin database");
            }
            scope = ChangeStream.Scope.CLUSTER;
        } else {
            scope = ChangeStream.Scope.DATABASE;
        }
        if (Boolean.TRUE.equals(options.get("allChangesForCluster")) && !databaseName.equals("admin")) {
            throw new MongoServerError(ErrorCodes.INVALID_OPTIONS, "InvalidOptions",
                "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database");
        }

        String fullDocument = String.valueOf(options.getOrDefault("fullDocument", "default"));
        if (!Set.of("default", "updateLookup", "whenAvailable", "required").contains(fullDocument)) {
            throw new MongoServerError(ErrorCodes.BAD_VALUE, "BadValue", "unknown fullDocument mode: " + fullDocument);
        }
        String before = String.valueOf(options.getOrDefault("fullDocumentBeforeChange", "off"));
        if (!Set.of("off", "whenAvailable", "required").contains(before)) {
            throw new MongoServerError(ErrorCodes.BAD_VALUE, "BadValue", "unknown fullDocumentBeforeChange mode: " + before);
        }

        Object resumeAfter = options.get("resumeAfter");
        Object startAfter = options.get("startAfter");
        Object startAt = options.get("startAtOperationTime");
        int starts = (resumeAfter != null ? 1 : 0) + (startAfter != null ? 1 : 0) + (startAt != null ? 1 : 0);
        if (starts > 1) {
            throw new MongoServerError(ErrorCodes.BAD_VALUE, "BadValue",
                "Only one type of resume option is allowed, but multiple were found");
        }
        long position;
        ChangeStream.Token resumeToken = null;
        if (resumeAfter != null) {
            resumeToken = ChangeStream.parseToken(resumeAfter);
            if (resumeToken.invalidate) {
                throw new MongoServerError(260, "InvalidResumeToken",
                    "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.");
            }
            position = resumeToken.ts;
        } else if (startAfter != null) {
            resumeToken = ChangeStream.parseToken(startAfter);
            position = resumeToken.ts;
        } else if (startAt != null) {
            if (!(startAt instanceof BsonTimestamp)) {
                throw new MongoServerError(ErrorCodes.TYPE_MISMATCH, "TypeMismatch", "startAtOperationTime must be a timestamp");
            }
            position = ((BsonTimestamp) startAt).getValue() - 1; // inclusive
        } else {
            position = Env.oplog.highWater();
        }
        Env.oplog.checkHistory(position);

        MongoDatabase database = scope == ChangeStream.Scope.CLUSTER ? null : resolveDatabase(databaseName);
        Aggregation aggregation = Aggregation.fromPipeline(pipeline.subList(1, pipeline.size()),
            this::resolveDatabase, database, null, NoopOplog.get());

        long id = ThreadLocalRandom.current().nextLong(1L << 40, 1L << 62);
        ChangeStream stream = new ChangeStream(id, scope, databaseName, coll, fullDocument, before, aggregation, this, position);
        if (resumeToken != null && !resumeToken.invalidate) {
            // resuming from the token of the event that ended this stream: the invalidate is next
            Document entry = Env.oplog.get(resumeToken.ts);
            if (entry != null && stream.matches(entry) && stream.invalidatedBy(entry)) {
                stream.pendingInvalidate = entry;
            }
        }

        int batchSize = batchSize(query.get("cursor"), 101);
        List<Document> firstBatch = batchSize == 0 ? new ArrayList<>() : stream.next(batchSize);
        if (!stream.closed) {
            streams.put(id, stream);
        }
        return cursorReply("firstBatch", stream, firstBatch);
    }

    private static int batchSize(Object cursorOptions, int defaultSize) {
        if (cursorOptions instanceof Document) {
            Object size = ((Document) cursorOptions).get("batchSize");
            if (size instanceof Number) {
                return ((Number) size).intValue();
            }
        }
        return defaultSize;
    }

    private Document getMore(ChangeStream stream, Document query) {
        Object size = query.get("batchSize");
        int limit = size instanceof Number && ((Number) size).intValue() > 0 ? ((Number) size).intValue() : 1000;
        // on a getMore of an awaitData cursor, maxTimeMS is how long to wait for new events (that is
        // what drivers send for the cursor's maxAwaitTimeMS); MongoDB's default is 1 second
        Object await = query.get("maxTimeMS");
        if (!(await instanceof Number)) {
            await = query.get("maxAwaitTimeMS");
        }
        long maxAwait = await instanceof Number ? Math.max(0L, ((Number) await).longValue()) : 1000L;
        long deadline = System.nanoTime() + maxAwait * 1_000_000L;
        List<Document> batch;
        while (true) {
            batch = stream.next(limit);
            if (!batch.isEmpty() || stream.closed) {
                break;
            }
            long remaining = (deadline - System.nanoTime()) / 1_000_000L;
            if (remaining <= 0) {
                break;
            }
            try {
                Env.oplog.awaitEntryAfter(stream.position, remaining);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (stream.closed) {
            streams.remove(stream.id);
        }
        return cursorReply("nextBatch", stream, batch);
    }

    private static Document cursorReply(String batchKey, ChangeStream stream, List<Document> batch) {
        Document cursor = new Document(batchKey, batch)
            .append("postBatchResumeToken", stream.postBatchResumeToken)
            .append("id", stream.closed ? 0L : stream.id)
            .append("ns", stream.namespace());
        return new Document("cursor", cursor).append("ok", 1.0);
    }

    @SuppressWarnings("unchecked")
    private Document killCursors(Channel channel, String databaseName, String command, Document query) {
        List<Long> killed = new ArrayList<>();
        List<Long> others = new ArrayList<>();
        for (Object id : (List<Object>) query.getOrDefault("cursors", List.of())) {
            long cursorId = ((Number) id).longValue();
            if (streams.remove(cursorId) != null) {
                killed.add(cursorId);
            } else {
                others.add(cursorId);
            }
        }
        if (others.isEmpty()) {
            return new Document("cursorsKilled", killed).append("cursorsNotFound", List.of())
                .append("cursorsAlive", List.of()).append("cursorsUnknown", List.of()).append("ok", 1.0);
        }
        Document rest = new Document(query);
        rest.put("cursors", others);
        Document response = super.handleCommand(channel, databaseName, command, rest);
        List<Long> all = new ArrayList<>(killed);
        all.addAll((List<Long>) response.getOrDefault("cursorsKilled", List.of()));
        response.put("cursorsKilled", all);
        return response;
    }

    static final class ErrorCodes {
        static final int BAD_VALUE = 2;
        static final int TYPE_MISMATCH = 14;
        static final int INVALID_OPTIONS = 72;

        private ErrorCodes() {
        }
    }
}
