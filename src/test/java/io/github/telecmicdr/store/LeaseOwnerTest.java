package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.testing.StoredCalls;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A lease's holder fits its columns, whatever the host is called. */
class LeaseOwnerTest {

    /** A Kubernetes pod's name, 58 characters, as the JVM names itself in it (pid 1). */
    static final String POD = "1@telecmi-cdr-router-production-asia-south1-7d9f8b6c5d-x7k2p";

    @Test
    void aLongHostNameKeepsItsEndAndFits() {
        String owner = LeaseOwner.of(POD, "1a2b3c4d");
        assertEquals(LeaseOwner.MAX, owner.length(), owner);
        assertTrue(owner.endsWith("-asia-south1-7d9f8b6c5d-x7k2p-1a2b3c4d"), owner);
        assertEquals("12@cdr-host-1a2b3c4d", LeaseOwner.of("12@cdr-host", "1a2b3c4d"), "a short one is kept whole");
        assertTrue(LeaseOwner.next().length() <= LeaseOwner.MAX);
    }

    @Test
    void theLongestOwnerFitsTheDeliveryLeaseColumn() throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:owner-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 2, 5000)) {
            Database.inTransaction(db, c -> {
                StoredCalls.insertWithDueAlert(c, List.of("owner-1"));
                return null;
            });
            try (Connection c = db.getConnection();
                 PreparedStatement ps = c.prepareStatement("UPDATE delivery SET lease_owner = ?")) {
                ps.setString(1, LeaseOwner.of(POD, "1a2b3c4d"));
                assertEquals(1, ps.executeUpdate(), "64 characters fit delivery.lease_owner");
            }
        }
    }
}
