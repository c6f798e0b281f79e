package partnerhub.neo4j;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * A real Neo4j Community DBMS with the Bolt connector on a loopback address, for
 * development and tests. Clients talk to it exactly as to a production server.
 *
 * Usage: DevServer HOME_DIR BOLT_PORT [BIND_HOST] [NEO4J_CONF]
 *
 * NEO4J_CONF is an optional neo4j.conf-style file of further settings (memory, say).
 *
 * Prints "READY bolt://HOST:PORT" once Bolt accepts connections and shuts the DBMS
 * down cleanly on SIGTERM (the JVM shutdown hook).
 */
public final class DevServer {
    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2) {
            System.err.println("usage: DevServer HOME_DIR BOLT_PORT [BIND_HOST]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String host = args.length > 2 ? args[2] : "127.0.0.1";

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        if (args.length > 3) {
            builder.loadPropertiesFromFile(Path.of(args[3]));
        }
        DatabaseManagementService dbms = builder
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                // Loopback-only development server: no accounts to provision.
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "partnerhub-neo4j-shutdown"));

        // Touch the default database so that "READY" means queries will be answered.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        System.out.println("READY bolt://" + host + ":" + port);
        System.out.flush();
        stopped.await();
    }
}
