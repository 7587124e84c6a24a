package hydrant.changestream;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoServer;

/**
 * java -jar changestream-server.jar --port N [--bind 127.0.0.1] [--data-dir DIR] [--oplog-max N]
 *     [--replset NAME | --no-replset]
 *
 * Prints "changestream-server listening on HOST:PORT" when it accepts connections (--port 0 picks a
 * free port, and the line tells which). SIGTERM or SIGINT: closes the connections, writes the
 * H2 store and exits with 0.
 */
public final class Main {

    private static final AtomicBoolean STOPPED = new AtomicBoolean();

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
            System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        // it logs every failed command with a stack trace; the client gets the error anyway
        System.setProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler",
            System.getProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler", "off"));

        int port = 27017;
        String bind = "127.0.0.1";
        String dataDir = null;
        long oplogMax = 100_000;
        String setName = "rs0";
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--port": port = Integer.parseInt(value(args, ++i, arg)); break;
                case "--bind": bind = value(args, ++i, arg); break;
                case "--data-dir": dataDir = value(args, ++i, arg); break;
                case "--oplog-max": oplogMax = Long.parseLong(value(args, ++i, arg)); break;
                case "--replset": setName = value(args, ++i, arg); break;
                case "--no-replset": setName = null; break;
                case "-h":
                case "--help":
                    System.out.println("usage: java -jar changestream-server.jar --port N [--bind 127.0.0.1]"
                        + " [--data-dir DIR] [--oplog-max N] [--replset NAME | --no-replset]");
                    return;
                default:
                    System.err.println("changestream-server: unknown argument " + arg);
                    System.exit(2);
            }
        }
        if (oplogMax < 1) {
            System.err.println("changestream-server: --oplog-max must be at least 1");
            System.exit(2);
        }

        MVStore store;
        if (dataDir == null) {
            store = MVStore.open(null);
        } else {
            Path dir = Path.of(dataDir);
            Files.createDirectories(dir);
            store = new MVStore.Builder().fileName(dir.resolve("changestream.mv.db").toString()).open();
        }
        Env.mvStore = store;
        Env.oplog = new OplogStore(store, oplogMax);
        CsBackend backend = new CsBackend(store);
        backend.setSetName(setName);

        MongoServer server = new MongoServer(backend);
        // a getMore waiting for maxAwaitTimeMS holds its Netty event loop thread, and a connection
        // is pinned to one loop: plenty of loops keep other connections from waiting behind it
        server.bind(new InetSocketAddress(bind, port), 1, 64);
        int actualPort = server.getLocalAddress().getPort();
        backend.setMe(bind + ":" + actualPort);

        Runnable stop = () -> {
            if (STOPPED.compareAndSet(false, true)) {
                try {
                    server.shutdownNow();
                } finally {
                    backend.close(); // closes the MVStore: writes what is pending
                }
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "changestream-server-stop"));
        sun.misc.SignalHandler exit = signal -> {
            stop.run();
            Runtime.getRuntime().halt(0);
        };
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), exit);
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), exit);

        System.out.println("changestream-server listening on " + bind + ":" + actualPort);
        System.out.flush();
        Thread.currentThread().join();
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            System.err.println("changestream-server: " + option + " needs a value");
            System.exit(2);
        }
        return args[i];
    }
}
