package io.github.telecmicdr;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lists the webhook route matches with Simple's in: a space would silently drop a kind, so it stops the start. */
class StartChecksTest {

    @Test
    void aListWithASpaceStopsTheStartNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CdrRouterConfiguration.refuseListsWithSpaces(context("crm.kinds", "incoming-answered-cdr, incoming-missed-cdr")));
        assertTrue(e.getMessage().startsWith("crm.kinds must be a comma-separated list without spaces"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CdrRouterConfiguration.refuseListsWithSpaces(context("esb.kinds", "a,\tb")));
        assertDoesNotThrow(() -> CdrRouterConfiguration.refuseListsWithSpaces(context("alert.hangup-reasons", "recv_cancel,sent_reject")));
    }

    private static CamelContext context(String key, String value) {
        CamelContext camel = new DefaultCamelContext();
        Properties p = new Properties();
        p.setProperty("alert.hangup-reasons", "recv_cancel");
        p.setProperty("crm.kinds", "incoming-answered-cdr");
        p.setProperty("esb.kinds", "*");
        p.setProperty(key, value);
        camel.getPropertiesComponent().setInitialProperties(p);
        return camel;
    }
}
