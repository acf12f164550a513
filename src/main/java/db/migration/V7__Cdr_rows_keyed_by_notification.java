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

/**
 * An answered CDR's typed row is keyed by its notification ({@code cdr.notification_id}, the
 * primary key) instead of by cmiuuid. The cmiuuid column stays, unindexed: a call is found through
 * {@code notification}'s unique (cmiuuid, kind), which already decides duplicates.
 *
 * <p>Why (issue 14): a random cmiuuid lands each insert on a different leaf of a cmiuuid index, and
 * H2 rewrites every leaf a commit touched, so every index on cmiuuid costs a page written per
 * stored call. Notification ids come in order: a batch's rows share the last leaf.
 * Java rather than SQL because the primary key was created without a name (V1): H2 and
 * PostgreSQL named it differently, so it is looked up; and because on H2, where each DDL statement
 * commits, every step is done only when it is not done yet, so that a start stopped half-way
 * through is completed by the next.
 */
public class V7__Cdr_rows_keyed_by_notification extends BaseJavaMigration {

    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        try (Statement s = c.createStatement()) {
            // before any DDL (not transactional on H2): a CDR row without its notification cannot be keyed
            try (ResultSet orphans = s.executeQuery("SELECT COUNT(*) FROM cdr c WHERE NOT EXISTS (SELECT 1 FROM notification n"
                    + " WHERE n.cmiuuid = c.cmiuuid AND n.kind = 'incoming-answered-cdr')")) {
                orphans.next();
                if (orphans.getLong(1) > 0) {
                    throw new SQLException(orphans.getLong(1) + " answered CDRs have no stored incoming-answered-cdr notification"
                            + " (edited by hand?): restore those notifications or delete those CDRs, then start again");
                }
            }
            // each step only when not done yet: on H2 every DDL statement commits, so a start stopped
            // half-way through leaves the steps before it done, and the next start completes the rest
            if (!hasColumn(c, "notification_id")) {
                s.execute("ALTER TABLE cdr ADD COLUMN notification_id BIGINT");
            }
            s.execute("UPDATE cdr SET notification_id = (SELECT n.id FROM notification n"
                    + " WHERE n.cmiuuid = cdr.cmiuuid AND n.kind = 'incoming-answered-cdr') WHERE notification_id IS NULL");
            s.execute("ALTER TABLE cdr ALTER COLUMN notification_id SET NOT NULL");
            String keyColumn = primaryKeyColumn(c);
            if (!"notification_id".equals(keyColumn)) {
                if (keyColumn != null) {
                    s.execute("ALTER TABLE cdr DROP CONSTRAINT " + primaryKeyOfCdr(c));
                }
                s.execute("ALTER TABLE cdr ADD CONSTRAINT cdr_pkey PRIMARY KEY (notification_id)");
            }
            if (!hasForeignKeyToNotification(c)) {
                s.execute("ALTER TABLE cdr ADD CONSTRAINT cdr_notification_fkey FOREIGN KEY (notification_id) REFERENCES notification (id)");
            }
        }
    }

    private static boolean hasColumn(Connection c, String column) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        for (String table : new String[] {"CDR", "cdr"}) {
            try (ResultSet rs = meta.getColumns(c.getCatalog(), c.getSchema(), table, null)) {
                while (rs.next()) {
                    if (column.equalsIgnoreCase(rs.getString("COLUMN_NAME"))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** The (one) column of cdr's primary key, lower case, or null. */
    private static String primaryKeyColumn(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        for (String table : new String[] {"CDR", "cdr"}) {
            try (ResultSet rs = meta.getPrimaryKeys(c.getCatalog(), c.getSchema(), table)) {
                if (rs.next()) {
                    return rs.getString("COLUMN_NAME").toLowerCase(java.util.Locale.ROOT);
                }
            }
        }
        return null;
    }

    private static boolean hasForeignKeyToNotification(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        for (String table : new String[] {"CDR", "cdr"}) {
            try (ResultSet rs = meta.getImportedKeys(c.getCatalog(), c.getSchema(), table)) {
                while (rs.next()) {
                    if ("notification".equalsIgnoreCase(rs.getString("PKTABLE_NAME"))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static String primaryKeyOfCdr(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        List<String> names = new ArrayList<>();
        // H2 keeps unquoted names upper case, PostgreSQL lower case
        for (String table : new String[] {"CDR", "cdr"}) {
            try (ResultSet rs = meta.getPrimaryKeys(c.getCatalog(), c.getSchema(), table)) {
                while (rs.next()) {
                    String name = rs.getString("PK_NAME");
                    if (name != null && !names.contains(name)) {
                        names.add(name);
                    }
                }
            }
        }
        if (names.size() != 1) {
            throw new SQLException("expected one primary key on cdr, found " + names);
        }
        // H2 names it CONSTRAINT_..., PostgreSQL cdr_pkey: quoted, as the metadata spells it
        return '"' + names.get(0) + '"';
    }
}
