package io.github.telecmicdr.delivery;

import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Route;
import org.apache.camel.StartupListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Once every route has started, says which destinations {@code delivery.destinations} plans, and
 * warns of each delivery kind that is planned (there, or by {@code to: delivery:<kind>} in a route)
 * while no route works it ({@code from: delivery:<kind>}): its deliveries are stored and wait,
 * pending, for a route that works them (a route file not copied, a typo in the kind), and without
 * a word they would wait unnoticed.
 */
public final class DestinationsAtStart implements StartupListener {

    private static final Logger LOG = LoggerFactory.getLogger(DestinationsAtStart.class);

    /** Camel may tell a listener more than once. */
    private final AtomicBoolean told = new AtomicBoolean();

    /** The kinds planned and not worked by any route. */
    static Set<String> unworked(CamelContext camel, Set<String> configured) {
        Set<String> planned = new TreeSet<>(configured);
        for (Endpoint e : camel.getEndpoints()) {
            if (e instanceof DeliveryEndpoint d) {
                planned.add(d.getKind());
            }
        }
        planned.removeAll(worked(camel));
        return planned;
    }

    /** The kinds a route works ({@code from: delivery:<kind>}). */
    static Set<String> worked(CamelContext camel) {
        Set<String> worked = new TreeSet<>();
        for (Route r : camel.getRoutes()) {
            if (r.getEndpoint() instanceof DeliveryEndpoint d) {
                worked.add(d.getKind());
            }
        }
        return worked;
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        // not every route has started yet: see onCamelContextFullyStarted
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        if (told.getAndSet(true)) {
            return;
        }
        ConfiguredDestinations configured = context.getRegistry().findSingleByType(ConfiguredDestinations.class);
        Set<String> kinds = configured == null ? Set.of() : configured.kinds();
        if (!kinds.isEmpty()) {
            LOG.info("Destinations planned for every new notification of their kinds (delivery.destinations): {}", new TreeSet<>(kinds));
        }
        Set<String> unworked = unworked(context, kinds);
        for (String kind : unworked) {
            LOG.warn("Deliveries of kind '{}' are planned, and no route works them (from: delivery:{}): they wait, pending,"
                    + " until a route in routes/ does (see README, Add a destination)", kind, kind);
        }
        // a destination dropped from the configuration (or its route removed) leaves its deliveries pending,
        // and retention keeps their notifications until they end: said once at each start
        DataSource dataSource = context.getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        if (dataSource == null) {
            return;
        }
        Set<String> worked = worked(context);
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT kind, COUNT(*) FROM delivery WHERE state IN ('pending', 'in_progress') GROUP BY kind")) {
            while (rs.next()) {
                String kind = rs.getString(1);
                if (!worked.contains(kind) && !unworked.contains(kind)) {
                    LOG.warn("{} deliveries of kind '{}' have not ended, and no route works the kind any more (from: delivery:{}):"
                            + " they wait, pending, and retention keeps their notifications until they end (README, Retention)",
                            rs.getLong(2), kind, kind);
                }
            }
        } catch (SQLException e) {
            LOG.debug("Could not count the deliveries left pending: {}", e.getMessage());
        }
    }
}
