package db.migration;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

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
            if (aboutCdr(c, (meta, catalog, schema, table) -> meta.getColumns(catalog, schema, table, null),
                    rs -> "notification_id".equalsIgnoreCase(rs.getString("COLUMN_NAME")) ? Boolean.TRUE : null) == null) {
                s.execute("ALTER TABLE cdr ADD COLUMN notification_id BIGINT");
            }
            s.execute("UPDATE cdr SET notification_id = (SELECT n.id FROM notification n"
                    + " WHERE n.cmiuuid = cdr.cmiuuid AND n.kind = 'incoming-answered-cdr') WHERE notification_id IS NULL");
            s.execute("ALTER TABLE cdr ALTER COLUMN notification_id SET NOT NULL");
            Key key = aboutCdr(c, DatabaseMetaData::getPrimaryKeys,
                    rs -> new Key(rs.getString("PK_NAME"), rs.getString("COLUMN_NAME")));
            if (key == null || !key.column().equalsIgnoreCase("notification_id")) {
                if (key != null) {
                    // H2 names it CONSTRAINT_..., PostgreSQL cdr_pkey: quoted, as the metadata spells it
                    s.execute("ALTER TABLE cdr DROP CONSTRAINT \"" + key.name() + "\"");
                }
                s.execute("ALTER TABLE cdr ADD CONSTRAINT cdr_pkey PRIMARY KEY (notification_id)");
            }
            if (aboutCdr(c, DatabaseMetaData::getImportedKeys,
                    rs -> "notification".equalsIgnoreCase(rs.getString("PKTABLE_NAME")) ? Boolean.TRUE : null) == null) {
                s.execute("ALTER TABLE cdr ADD CONSTRAINT cdr_notification_fkey FOREIGN KEY (notification_id) REFERENCES notification (id)");
            }
        }
    }

    /** cdr's primary key: its name and its (one) column. */
    private record Key(String name, String column) {
    }

    private interface MetadataQuery {
        ResultSet about(DatabaseMetaData meta, String catalog, String schema, String table) throws SQLException;
    }

    private interface RowReader<T> {
        /** What the row says, or null when it is not the row wanted. */
        T read(ResultSet row) throws SQLException;
    }

    /**
     * The first row of a metadata query about cdr that {@code reader} makes something of, or null.
     * H2 keeps unquoted names upper case, PostgreSQL lower case: both spellings are asked.
     */
    private static <T> T aboutCdr(Connection c, MetadataQuery query, RowReader<T> reader) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        for (String table : new String[] {"CDR", "cdr"}) {
            try (ResultSet rs = query.about(meta, c.getCatalog(), c.getSchema(), table)) {
                while (rs.next()) {
                    T found = reader.read(rs);
                    if (found != null) {
                        return found;
                    }
                }
            }
        }
        return null;
    }
}
