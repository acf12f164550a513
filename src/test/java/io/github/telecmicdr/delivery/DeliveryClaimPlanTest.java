package io.github.telecmicdr.delivery;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.store.Database;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A claim must cost the same with ten or a million deliveries behind it: H2 has to read the due
 * index in order and stop after batch-size rows. Ordering by next_attempt_at alone made it read,
 * sort and spill the whole backlog on every poll (a fifth of the CPU under load).
 */
class DeliveryClaimPlanTest {

    @ParameterizedTest
    @ValueSource(strings = {Deliveries.PENDING_DUE, Deliveries.LEASE_EXPIRED})
    void claimsReadTheDueIndexInOrderAndStopEarly(String claimQuery) throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:claim-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
             Connection c = db.getConnection();
             PreparedStatement explain = c.prepareStatement("EXPLAIN " + claimQuery)) {
            explain.setString(1, Delivery.ALERT_EMAIL);
            explain.setObject(2, OffsetDateTime.now(ZoneOffset.UTC));
            explain.setInt(3, 20);
            try (ResultSet plan = explain.executeQuery()) {
                assertTrue(plan.next());
                String text = plan.getString(1);
                assertTrue(text.contains("DELIVERY_DUE_IDX"), text);
                assertTrue(text.contains("index sorted"), text);
            }
        }
    }
}
