// Local MongoDB-wire-compatible server for Quorum's tests and local stack.
// mongo-java-server (de.bwaldvogel) with its in-memory backend, or its H2 (MVStore) backend
// when --data FILE is given (data survives restarts), each planning a query that pins a unique
// index's keys among other conditions by that index (UniqueKeyPlanner). Started by
// deploy/local/mongo.py.
//
//   java -cp <root>/mongo/classes:<root>/mongo/lib/* Main --host 127.0.0.1 --port 27018 [--data FILE]
//
// Prints "READY host:port" on stdout once it accepts connections.

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

public final class Main {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 27018;
        String data = null;
        // pymongo >= 4.14 refuses servers below wire version 9 (MongoDB 4.4), and the library's
        // own ServerVersion enum stops at wire 8, so the server reports MongoDB 5.0 / wire 13.
        String version = "5.0.0";
        int wire = 13;
        boolean oplog = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--data" -> data = args[++i];
                case "--version" -> version = args[++i];
                case "--wire" -> wire = Integer.parseInt(args[++i]);
                case "--oplog" -> oplog = true;
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }

        final MongoBackend backend;
        if (data != null) {
            Path file = Path.of(data).toAbsolutePath();
            Files.createDirectories(file.getParent());
            backend = new PlannedH2Backend(file.toString());
        } else {
            backend = new PlannedMemoryBackend();
        }
        final List<Integer> versionArray = Arrays.stream(version.split("\\.")).map(Integer::valueOf).toList();
        final int wireVersion = wire;
        backend.version(new MongoVersion() {
            @Override
            public List<Integer> getVersionArray() {
                return versionArray;
            }

            @Override
            public int getWireVersion() {
                return wireVersion;
            }
        });

        MongoServer server = new MongoServer(backend);
        if (oplog) {
            server.enableOplog();
        }
        // SIGTERM / SIGINT: stop listening, close cursors and the backend (H2 flushes its store).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("shutting down");
            server.shutdown();
            System.out.println("stopped");
            System.out.flush();
        }, "shutdown"));

        try {
            server.bind(host, port);
        } catch (Exception e) {
            // e.g. java.net.BindException: Address already in use; netty's threads would keep the
            // JVM alive, so exit explicitly and let the launcher report the log tail.
            System.out.println("FAILED to bind " + host + ":" + port + ": " + e);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
        System.out.println("READY " + host + ":" + port + " backend=" + (data != null ? "h2:" + data : "memory")
                + " version=" + version + " wire=" + wire);
        System.out.flush();
        Thread.currentThread().join();
    }
}
