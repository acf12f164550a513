package db.migration;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Deliveries belong to the notification that planned them, of any kind (a missed call can be
 * forwarded too), not only to an answered CDR: {@code delivery.notification_id}, filled for every
 * delivery already stored (they all belong to an incoming answered CDR), one delivery of a kind per
 * notification. Java rather than SQL only because the foreign key to {@code cdr} was created
 * without a name (V2): H2 and PostgreSQL named it differently, so it is looked up.
 */
public class V4__Deliveries_of_notifications extends BaseJavaMigration {

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        try (Statement s = c.createStatement()) {
            // before any DDL (not transactional on H2): a delivery whose CDR has no notification cannot move
            try (ResultSet orphans = s.executeQuery("SELECT COUNT(*) FROM delivery d WHERE NOT EXISTS (SELECT 1 FROM notification n"
                    + " WHERE n.cmiuuid = d.cmiuuid AND n.kind = 'incoming-answered-cdr')")) {
                orphans.next();
                if (orphans.getLong(1) > 0) {
                    throw new SQLException(orphans.getLong(1) + " deliveries belong to no stored incoming-answered-cdr notification"
                            + " (edited by hand?): restore those notifications or delete those deliveries, then start again");
                }
            }
            s.execute("ALTER TABLE delivery ADD COLUMN notification_id BIGINT");
            s.execute("UPDATE delivery SET notification_id = (SELECT n.id FROM notification n"
                    + " WHERE n.cmiuuid = delivery.cmiuuid AND n.kind = 'incoming-answered-cdr')");
            s.execute("ALTER TABLE delivery ALTER COLUMN notification_id SET NOT NULL");
            for (String name : foreignKeysToCdr(c)) {
                s.execute("ALTER TABLE delivery DROP CONSTRAINT " + name);
            }
            s.execute("ALTER TABLE delivery DROP CONSTRAINT delivery_cmiuuid_kind_key");
            s.execute("ALTER TABLE delivery ADD CONSTRAINT delivery_notification_kind_key UNIQUE (notification_id, kind)");
            s.execute("ALTER TABLE delivery ADD CONSTRAINT delivery_notification_fkey FOREIGN KEY (notification_id) REFERENCES notification (id)");
            // the unique key on (cmiuuid, kind) also served "the deliveries of this call"
            s.execute("CREATE INDEX delivery_cmiuuid_idx ON delivery (cmiuuid)");
            // retention finds recordings by their delivery; PostgreSQL does not index a foreign key by itself
            s.execute("CREATE INDEX recording_delivery_id_idx ON recording (delivery_id)");
        }
    }

    private static List<String> foreignKeysToCdr(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        List<String> names = new ArrayList<>();
        // H2 keeps unquoted names upper case, PostgreSQL lower case
        for (String table : new String[] {"DELIVERY", "delivery"}) {
            try (ResultSet rs = meta.getImportedKeys(c.getCatalog(), c.getSchema(), table)) {
                while (rs.next()) {
                    String name = rs.getString("FK_NAME");
                    if ("cdr".equals(rs.getString("PKTABLE_NAME").toLowerCase(Locale.ROOT)) && name != null && !names.contains(name)) {
                        names.add(name);
                    }
                }
            }
        }
        if (names.isEmpty()) {
            throw new SQLException("no foreign key from delivery to cdr found to replace");
        }
        return names;
    }
}
