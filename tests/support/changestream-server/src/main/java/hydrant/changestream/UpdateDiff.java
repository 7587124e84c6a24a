package hydrant.changestream;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import de.bwaldvogel.mongo.bson.Document;

/**
 * An update event's updateDescription, computed from the pre- and post-image (MongoDB computes it
 * from the applied update; the two agree for the common cases):
 * - a field in both whose value changed: in updatedFields, by its dotted path; sub-documents
 *   present in both are compared field by field (so {$set: {"a.b": 1}} gives "a.b");
 * - an array of the same length: each changed element as "arr.N" (sub-documents in both compared
 *   field by field, "arr.N.f"); one that only grew at its end: each new element as "arr.N" (as
 *   MongoDB 5+ does for $push); one that only lost elements at its end: in truncatedArrays
 *   {field, newSize}; any other change of an array: the whole array under its path;
 * - a field only in the pre-image: in removedFields; a field only in the post-image: in updatedFields.
 */
final class UpdateDiff {

    private UpdateDiff() {
    }

    static Document describe(Document before, Document after) {
        Document updated = new Document();
        List<String> removed = new ArrayList<>();
        List<Document> truncated = new ArrayList<>();
        diff("", before, after, updated, removed, truncated);
        return new Document("updatedFields", updated)
            .append("removedFields", removed)
            .append("truncatedArrays", truncated);
    }

    private static void diff(String prefix, Document before, Document after,
                             Document updated, List<String> removed, List<Document> truncated) {
        for (String key : before.keySet()) {
            if (!after.containsKey(key)) {
                removed.add(prefix + key);
            }
        }
        for (String key : after.keySet()) {
            String path = prefix + key;
            Object newValue = after.get(key);
            if (!before.containsKey(key)) {
                updated.put(path, newValue);
                continue;
            }
            Object oldValue = before.get(key);
            if (Objects.equals(oldValue, newValue) && sameType(oldValue, newValue)) {
                continue;
            }
            if (oldValue instanceof Document && newValue instanceof Document) {
                diff(path + ".", (Document) oldValue, (Document) newValue, updated, removed, truncated);
            } else if (oldValue instanceof List && newValue instanceof List) {
                diffArray(path, (List<?>) oldValue, (List<?>) newValue, updated, removed, truncated);
            } else {
                updated.put(path, newValue);
            }
        }
    }

    private static boolean sameType(Object a, Object b) {
        return a == null || b == null || a.getClass() == b.getClass();
    }

    private static void diffArray(String path, List<?> before, List<?> after, Document updated, List<String> removed,
                                  List<Document> truncated) {
        if (after.size() == before.size()) {
            for (int i = 0; i < after.size(); i++) {
                Object oldValue = before.get(i);
                Object newValue = after.get(i);
                if (Objects.equals(oldValue, newValue) && sameType(oldValue, newValue)) {
                    continue;
                }
                if (oldValue instanceof Document && newValue instanceof Document) {
                    diff(path + "." + i + ".", (Document) oldValue, (Document) newValue, updated, removed, truncated);
                } else {
                    updated.put(path + "." + i, newValue);
                }
            }
        } else if (after.size() > before.size() && after.subList(0, before.size()).equals(before)) {
            for (int i = before.size(); i < after.size(); i++) {
                updated.put(path + "." + i, after.get(i));
            }
        } else if (after.size() < before.size() && before.subList(0, after.size()).equals(after)) {
            truncated.add(new Document("field", path).append("newSize", after.size()));
        } else {
            updated.put(path, after);
        }
    }
}
