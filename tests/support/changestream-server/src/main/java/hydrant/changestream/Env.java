package hydrant.changestream;

import org.h2.mvstore.MVStore;

/**
 * Process-wide state. The H2 backend opens its databases (and they their collections) from inside
 * super constructors, before a subclass's own fields are set, so the store and the oplog they write
 * to are reached through here instead of through constructor arguments. One server per JVM.
 */
final class Env {
    static volatile MVStore mvStore;
    static volatile OplogStore oplog;

    private Env() {
    }
}
