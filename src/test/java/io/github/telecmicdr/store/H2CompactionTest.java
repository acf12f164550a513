package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With WRITE_DELAY=0 H2 never compacts by itself: small commits with random keys leave every chunk
 * partly live, and the file only grows. The same writes with compaction rounds in between must
 * leave a much smaller file. (RETENTION_TIME=0 lets H2 reuse freed chunks at once, so the test
 * does not have to wait out the 45 s default.)
 */
class H2CompactionTest {

    private static final int COMMITS = 4000;

    @Test
    void compactionRoundsKeepTheFileFromGrowingWithEveryCommit(@TempDir Path dir) throws Exception {
        long without = fileAfterSmallCommits(dir.resolve("plain"), false);
        long with = fileAfterSmallCommits(dir.resolve("compacted"), true);
        assertTrue(with * 2 < without, "with compaction " + with + " bytes, without " + without + " bytes");
    }

    @Test
    void onlyEmbeddedFilesAreCompacted() throws Exception {
        try (HikariDataSource memory = Database.open("jdbc:h2:mem:compaction;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000)) {
            assertFalse(new H2Compaction(memory, 1000).compactOnce());
        }
        assertFalse(H2Compaction.appliesTo("jdbc:postgresql://localhost/telecmi"));
    }

    private static long fileAfterSmallCommits(Path dir, boolean compact) throws Exception {
        Files.createDirectories(dir);
        String url = "jdbc:h2:file:" + dir.resolve("cdr-router") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE;RETENTION_TIME=0";
        try (HikariDataSource db = Database.open(url, "sa", "", 2, 5000)) {
            H2Compaction compaction = new H2Compaction(db, 1000);
            try (Connection c = db.getConnection();
                 PreparedStatement insert = c.prepareStatement("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                         + " VALUES ('incoming-answered-cdr', ?, '2222223', 'POST', CURRENT_TIMESTAMP, ?)")) {
                for (int i = 0; i < COMMITS; i++) {
                    String cmiuuid = UUID.randomUUID().toString();
                    insert.setString(1, cmiuuid);
                    insert.setString(2, "{\"cmiuuid\":\"" + cmiuuid + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_bye\"}");
                    insert.executeUpdate();
                    if (compact && i % 100 == 99) {
                        compaction.compactOnce();
                    }
                }
            }
            return Files.size(dir.resolve("cdr-router.mv.db"));
        }
    }
}
