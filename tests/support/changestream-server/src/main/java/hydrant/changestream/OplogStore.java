package hydrant.changestream;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * The oplog: a capped, ordered map from position to entry, kept in the same MVStore as the data
 * (so with --data-dir it survives a restart together with the data it describes).
 *
 * A position is a BSON timestamp's 64-bit value (seconds << 32 | increment), strictly increasing:
 * it is the event's clusterTime and what its resume token encodes.
 *
 * Entry fields: ts (Long), wall (Instant), op ("i", "u", "r", "d", "drop", "rename",
 * "dropDatabase"), db, coll, and as the op needs: key ({_id}), doc (post-image: the inserted
 * document, the document after an update or replace), pre (pre-image: before an update,
 * replace or delete), upd (updateDescription), to ({db, coll} of a rename).
 */
final class OplogStore {

    static final int CHANGE_STREAM_HISTORY_LOST = 286;

    private static final Set<String> UNLOGGED_DATABASES = Set.of("admin", "local", "config");

    private final MVStore store;
    private final MVMap<Long, Document> entries;
    private final MVMap<String, Object> meta;
    private final long maxEntries;

    /** The highest position handed out, as an entry's or as a high-water mark's. */
    private long lastTs;
    /** The position of the newest entry dropped by capping (0: none). */
    private long trimmedUpTo;

    OplogStore(MVStore store, long maxEntries) {
        this.store = store;
        this.entries = store.openMap("changestream.oplog");
        this.meta = store.openMap("changestream.meta");
        this.maxEntries = maxEntries;
        Long last = entries.lastKey();
        Object trimmed = meta.get("trimmedUpTo");
        this.trimmedUpTo = trimmed == null ? 0L : ((Number) trimmed).longValue();
        // Positions handed out before a SIGKILL may be above the last committed entry (an entry a
        // stream read before the store was committed, a high-water mark): start in the next second
        // so none is handed out twice (a consumer resuming after it would skip the new entry).
        this.lastTs = Math.max(Math.max(last == null ? 0L : last, trimmedUpTo), (nowSeconds() + 1) << 32);
        synchronized (this) {
            trim();
        }
    }

    static boolean isLogged(String db, String coll) {
        return !UNLOGGED_DATABASES.contains(db) && !coll.startsWith("system.");
    }

    // --- recording ------------------------------------------------------------------------------

    void recordInsert(String db, String coll, Document document) {
        if (!isLogged(db, coll)) {
            return;
        }
        Document doc = document.cloneDeeply();
        append(entry("i", db, coll).append("key", new Document("_id", doc.get("_id"))).append("doc", doc));
    }

    void recordUpdate(String db, String coll, Document oldDocument, Document newDocument, boolean replacement) {
        if (!isLogged(db, coll)) {
            return;
        }
        Document pre = oldDocument.cloneDeeply();
        Document post = newDocument.cloneDeeply();
        Document e = entry(replacement ? "r" : "u", db, coll)
            .append("key", new Document("_id", post.get("_id")))
            .append("doc", post)
            .append("pre", pre);
        if (!replacement) {
            e.append("upd", UpdateDiff.describe(pre, post));
        }
        append(e);
    }

    void recordDelete(String db, String coll, Document document) {
        if (!isLogged(db, coll)) {
            return;
        }
        Document pre = document.cloneDeeply();
        append(entry("d", db, coll).append("key", new Document("_id", pre.get("_id"))).append("pre", pre));
    }

    void recordDrop(String db, String coll) {
        if (isLogged(db, coll)) {
            append(entry("drop", db, coll));
        }
    }

    void recordRename(String db, String coll, String toDb, String toColl) {
        if (isLogged(db, coll)) {
            append(entry("rename", db, coll).append("to", new Document("db", toDb).append("coll", toColl)));
        }
    }

    void recordDropDatabase(String db) {
        if (!UNLOGGED_DATABASES.contains(db)) {
            append(entry("dropDatabase", db, null));
        }
    }

    private static Document entry(String op, String db, String coll) {
        Document e = new Document("ts", 0L).append("wall", Instant.now()).append("op", op).append("db", db);
        if (coll != null) {
            e.append("coll", coll);
        }
        return e;
    }

    private synchronized void append(Document entry) {
        long ts = nextTs();
        entry.put("ts", ts);
        entry.put("wall", Instant.now());
        entries.put(ts, entry);
        trim();
        notifyAll();
    }

    private void trim() {
        boolean trimmed = false;
        while (entries.sizeAsLong() > maxEntries) {
            Long first = entries.firstKey();
            entries.remove(first);
            trimmedUpTo = first;
            trimmed = true;
        }
        if (trimmed) {
            meta.put("trimmedUpTo", trimmedUpTo);
        }
    }

    // --- positions -----------------------------------------------------------------------------

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000L;
    }

    private long nextTs() {
        lastTs = Math.max((nowSeconds() << 32) + 1, lastTs + 1);
        return lastTs;
    }

    /**
     * The current high-water mark: at least the newest entry's position and at least
     * (now, 0); every entry appended later gets a greater position. This is what an idle stream's
     * postBatchResumeToken and each reply's operationTime carry, so they move forward with time
     * like a real primary's (which writes a no-op to its oplog every 10 seconds).
     */
    synchronized long highWater() {
        lastTs = Math.max(lastTs, nowSeconds() << 32);
        return lastTs;
    }

    /** Fails with ChangeStreamHistoryLost if an entry after {@code afterExclusive} was trimmed. */
    synchronized void checkHistory(long afterExclusive) {
        if (trimmedUpTo > afterExclusive) {
            throw historyLost();
        }
    }

    static MongoServerError historyLost() {
        return new MongoServerError(CHANGE_STREAM_HISTORY_LOST, "ChangeStreamHistoryLost",
            "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
    }

    synchronized Document get(long ts) {
        return entries.get(ts);
    }

    // --- reading -------------------------------------------------------------------------------

    static final class Scan {
        final List<Document> matched = new ArrayList<>();
        long lastScanned;
        boolean atEnd;
        /** When atEnd: the high-water mark at the moment of the scan. */
        long highWater;
    }

    /** Entries after {@code afterExclusive} (at most maxScan of them looked at) that pass the filter. */
    synchronized Scan scan(long afterExclusive, Predicate<Document> filter, int maxScan) {
        checkHistory(afterExclusive);
        Scan scan = new Scan();
        scan.lastScanned = afterExclusive;
        Cursor<Long, Document> cursor = entries.cursor(afterExclusive + 1);
        int n = 0;
        while (n < maxScan && cursor.hasNext()) {
            Long key = cursor.next();
            Document entry = cursor.getValue();
            scan.lastScanned = key;
            if (filter.test(entry)) {
                scan.matched.add(entry);
            }
            n++;
        }
        scan.atEnd = entries.higherKey(scan.lastScanned) == null;
        if (scan.atEnd) {
            scan.highWater = highWater();
        }
        return scan;
    }

    /** Waits (without spinning) until an entry after {@code afterExclusive} exists, or millis pass. */
    synchronized void awaitEntryAfter(long afterExclusive, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (true) {
            Long last = entries.lastKey();
            if (last != null && last > afterExclusive) {
                return;
            }
            long remaining = (deadline - System.nanoTime()) / 1_000_000L;
            if (remaining <= 0) {
                return;
            }
            wait(remaining);
        }
    }

    synchronized Map<String, Object> stats() {
        Long first = entries.firstKey();
        Long last = entries.lastKey();
        return Map.of("entries", entries.sizeAsLong(), "first", first == null ? 0L : first,
            "last", last == null ? 0L : last, "trimmedUpTo", trimmedUpTo, "max", maxEntries);
    }

    void commit() {
        if (store.hasUnsavedChanges()) {
            store.commit();
        }
    }
}
