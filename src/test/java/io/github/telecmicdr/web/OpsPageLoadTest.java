package io.github.telecmicdr.web;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.StoredCalls;
import io.github.telecmicdr.testing.SystemChromium;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How long the ops page takes to show its first page with 10,000 stored calls (1% of them with a
 * failed delivery), in the browser, from navigation to the table drawn: measured and written to
 * target/ops-page-load.txt, not asserted (a timed assertion fails on a busy machine, not on slow code).
 * What is asserted is that each view shows a page and offers the next.
 */
class OpsPageLoadTest {

    static final int CALLS = 10_000;
    static final int FAILED_EVERY = 100;

    @Test
    void onH2() throws Exception {
        try (RunningService s = RunningService.onH2()) {
            measure(s, "H2");
        }
    }

    @Test
    void onPostgres() throws Exception {
        try (RunningService s = RunningService.builder().database(EmbeddedDatabases.newPostgresDatabase()).build()) {
            measure(s, "PostgreSQL");
        }
    }

    void measure(RunningService s, String database) throws Exception {
        DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            for (int batch = 0; batch < CALLS / 1000; batch++) {
                List<String> done = new ArrayList<>();
                List<String> failed = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    (i % FAILED_EVERY == 0 ? failed : done).add(UUID.randomUUID().toString());
                }
                StoredCalls.insertForwarded(c, done, "done");
                StoredCalls.insertForwarded(c, failed, "failed");
                c.commit();
            }
        }
        StringBuilder report = new StringBuilder();
        try (SystemChromium chromium = SystemChromium.launch();
             BrowserContext context = chromium.browser().newContext(new Browser.NewContextOptions().setViewportSize(1280, 800))) {
            Page page = context.newPage();
            page.navigate(s.uri("/ui/").toString());
            page.getByLabel("API token").fill(RunningService.API_TOKEN);
            page.getByLabel("API token").press("Enter");
            assertThat(page.locator("#rows tr")).hasCount(50);
            for (String[] view : new String[][] {{"every call", ""}, {"with a failed delivery", "failed"}}) {
                List<Double> runs = new ArrayList<>();
                for (int run = 0; run < 5; run++) {
                    // a fresh load of the page each time, signed in (the token is in the tab's sessionStorage)
                    page.navigate(s.uri("/ui/").toString());
                    if (!view[1].isEmpty()) {
                        assertThat(page.locator("#rows tr")).hasCount(50);
                        page.evaluate("() => performance.clearMarks()");
                        page.getByLabel("Delivery state").selectOption(view[1]);
                        page.evaluate("() => performance.mark('ops:filter')");
                        page.getByRole(com.microsoft.playwright.options.AriaRole.BUTTON,
                                new Page.GetByRoleOptions().setName("Apply")).click();
                        page.waitForFunction("() => performance.getEntriesByName('ops:page-shown').length > 0");
                        // a whole number of milliseconds comes back as an Integer
                        runs.add(((Number) page.evaluate("() => performance.getEntriesByName('ops:page-shown')[0].startTime"
                                + " - performance.getEntriesByName('ops:filter')[0].startTime")).doubleValue());
                    } else {
                        page.waitForFunction("() => performance.getEntriesByName('ops:page-shown').length > 0");
                        runs.add(((Number) page.evaluate("() => performance.getEntriesByName('ops:page-shown')[0].startTime")).doubleValue());
                    }
                    assertThat(page.locator("#rows tr")).hasCount(50);
                    assertTrue(page.locator("#older").isEnabled(), "a next page is offered");
                }
                runs.sort(Double::compare);
                report.append(String.format("%s, %,d calls, %s: median %.0f ms (min %.0f, max %.0f, 5 loads)%n", database, CALLS, view[0],
                        runs.get(2), runs.get(0), runs.get(4)));
            }
        }
        System.out.print(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/ops-page-load.txt"), report, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
