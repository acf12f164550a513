package io.github.telecmicdr.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.SystemChromium;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operations page in a real headless Chromium, against the service over real HTTP, with
 * WireMock standing in for TeleCMI (a recording to download) and for a CRM (that refuses the calls,
 * then takes them once repaired): an operator signs in, sees the calls, filters the failed ones,
 * retries one and watches it go to pending then done, plays a recording, and a hostile CDR stays text.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsPageBrowserTest {

    static final String APPID = "2222223";
    static final String SECRET = "telecmi-secret-for-the-ops-page";
    static final String XSS_TEAM = "<img src=x onerror=alert(1)>";
    static final String XSS_AGENT = "<script>alert(2)</script>";

    WireMockServer standIn;
    RunningService service;
    SystemChromium chromium;
    final String recorded = UUID.randomUUID().toString();
    final String hostile = UUID.randomUUID().toString();
    final String missed = UUID.randomUUID().toString();

    @BeforeAll
    void start() throws Exception {
        standIn = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        standIn.start();
        standIn.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(recorded + ".wav"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "audio/wav").withBody(wav())));
        // the CRM refuses every call: crm-forward deliveries fail at once (a 4xx cannot improve)
        standIn.stubFor(post(urlPathEqualTo("/crm")).willReturn(aResponse().withStatus(400).withBody("unknown field")));
        service = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + standIn.port())
                .property("telecmi.appid", APPID)
                .property("telecmi.secret", SECRET)
                .property("crm.url", "http://127.0.0.1:" + standIn.port() + "/crm")
                .property("delivery.poll-interval-ms", "100")
                .build();
        assertEquals(200, service.postWebhook(cdr(recorded, "+91 98765 43210", "Sales", "204_2222223", true)).status());
        assertEquals(200, service.postWebhook(cdr(hostile, "919812345678", XSS_TEAM, XSS_AGENT, false)).status());
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + missed + "\",\"appid\":" + APPID + ",\"type\":\"cdr\","
                + "\"direction\":\"inbound\",\"status\":\"missed\",\"from\":\"919800000001\",\"to\":\"914461234567\","
                + "\"time\":1700000000000,\"waitedsec\":12}").status());
        // a live event of the recorded call: no delivery is planned for it
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + recorded + "\",\"appid\":" + APPID + ",\"type\":\"event\","
                + "\"direction\":\"inbound\",\"status\":\"waiting\",\"from\":\"919800000002\",\"to\":\"914461234567\","
                + "\"time\":1700000050000}").status());
        assertEquals("done", service.awaitFinished(recorded, "recording-download").get("state").asText());
        for (String id : List.of(recorded, hostile, missed)) {
            Await.until(Duration.ofSeconds(60), () -> forwardState(id), "failed"::equals, "the CRM forward of " + id + " to fail");
        }
        chromium = SystemChromium.launch();
    }

    @AfterAll
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (service != null) {
            service.close();
        }
        standIn.stop();
    }

    /** The state of a call's crm-forward delivery, any kind of notification (GET /api/deliveries?cmiuuid=). */
    String forwardState(String cmiuuid) {
        try {
            JsonNode page = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    service.api("/api/deliveries?kind=crm-forward&cmiuuid=" + cmiuuid).body());
            return page.get("deliveries").size() == 1 ? page.get("deliveries").get(0).get("state").asText() : null;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String cdr(String cmiuuid, String from, String team, String agent, boolean recorded) {
        return "{\"cmiuuid\":\"" + cmiuuid + "\",\"appid\":" + APPID + ",\"type\":\"cdr\",\"direction\":\"inbound\","
                + "\"status\":\"answered\",\"from\":\"" + from + "\",\"to\":\"914461234567\",\"virtual_number\":\"02240001234\","
                + "\"user\":" + json(agent) + ",\"team\":" + json(team) + ",\"answeredsec\":75,\"time\":1700000060000,"
                + "\"hangup_reason\":\"recv_bye\",\"record\":" + recorded + ",\"filename\":\"" + cmiuuid + ".wav\"}";
    }

    static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** One second of a 440 Hz tone, 8 kHz 16-bit mono PCM: audio a browser really decodes. */
    static byte[] wav() {
        int rate = 8000;
        ByteBuffer samples = ByteBuffer.allocate(rate * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rate; i++) {
            samples.putShort((short) (Math.sin(2 * Math.PI * 440 * i / rate) * 8000));
        }
        ByteBuffer head = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        head.put("RIFF".getBytes()).putInt(36 + rate * 2).put("WAVE".getBytes())
                .put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate * 2)
                .putShort((short) 2).putShort((short) 16)
                .put("data".getBytes()).putInt(rate * 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.array());
        out.writeBytes(samples.array());
        return out.toByteArray();
    }

    /** A fresh tab (its own sessionStorage) at 1280x800, with what the test watches for. */
    Watched open(int width, int height) {
        Browser browser = chromium.browser();
        BrowserContext context = browser.newContext(new Browser.NewContextOptions().setViewportSize(width, height));
        Page page = context.newPage();
        Watched watched = new Watched(context, page);
        page.onDialog(dialog -> {
            watched.dialogs.add(dialog.type() + ": " + dialog.message());
            dialog.dismiss();
        });
        page.onRequest(request -> watched.urls.add(request.url()));
        page.onConsoleMessage(message -> {
            if ("error".equals(message.type())) {
                watched.consoleErrors.add(message.text());
            }
        });
        page.onPageError(error -> watched.consoleErrors.add(error));
        page.navigate(service.uri("/ui/").toString());
        return watched;
    }

    record Watched(BrowserContext context, Page page, List<String> dialogs, List<String> urls, List<String> consoleErrors)
            implements AutoCloseable {
        Watched(BrowserContext context, Page page) {
            this(context, page, new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        }

        @Override
        public void close() {
            context.close();
        }
    }

    /** Signs in as a keyboard user would: the token field has the focus, type, Enter. */
    static void signIn(Page page, String token) {
        assertThat(page.getByLabel("API token")).isFocused();
        page.keyboard().type(token);
        page.keyboard().press("Enter");
    }

    Locator row(Page page, String from) {
        return page.locator("#rows tr").filter(new Locator.FilterOptions().setHasText(from));
    }

    @Test
    void withoutTheTokenOnlyTheLoginBoxShowsAndAWrongTokenIsRefused() {
        try (Watched tab = open(1280, 800)) {
            Page page = tab.page();
            assertThat(page.locator("#login")).isVisible();
            assertThat(page.locator("#app")).isHidden();
            signIn(page, "not-the-token");
            assertThat(page.getByRole(AriaRole.ALERT)).containsText("refused");
            assertThat(page.locator("#app")).isHidden();
            assertNull(page.evaluate("() => sessionStorage.getItem('telecmi-cdr-router.api-token')"));
            assertFalse(tab.urls().stream().anyMatch(u -> u.contains("not-the-token")), "the token never in a URL");
            assertTrue(tab.dialogs().isEmpty(), tab.dialogs().toString());
        }
    }

    @Test
    void anOperatorFindsAFailedDeliveryRetriesItAndPlaysTheRecording() throws Exception {
        try (Watched tab = open(1280, 800)) {
            Page page = tab.page();
            signIn(page, RunningService.API_TOKEN);

            // the stored calls, newest first, with their deliveries as chips
            Locator call = row(page, "+91 98765 43210");
            assertThat(call).isVisible();
            assertThat(call.locator(".chip.done")).hasText("recording-download: done");
            assertThat(call.locator(".chip.failed")).hasText("crm-forward: failed");
            assertThat(call.locator("td[data-label='Team']")).hasText("Sales");
            assertThat(call.locator("td[data-label='Talk time']")).hasText("1:15");
            assertThat(row(page, "919800000001").locator("td[data-label='Kind']")).hasText("Incoming missed");
            assertThat(row(page, "919800000002").locator("td[data-label='Kind']")).hasText("Live: waiting");

            // a hostile CDR is shown as the characters it holds, and runs nothing
            Locator xss = row(page, "919812345678");
            assertThat(xss.locator("td[data-label='Team']")).hasText(XSS_TEAM);
            assertThat(xss.locator("td[data-label='Agent']")).hasText(XSS_AGENT);
            assertEquals(0, page.locator("#rows img, #rows script").count());
            assertEquals(Boolean.TRUE, page.evaluate("() => { const t = document.querySelector('.table-wrap');"
                    + " return t.scrollWidth <= t.clientWidth; }"), "the nine columns fit 1280 pixels");
            page.screenshot(new Page.ScreenshotOptions().setPath(Files.createDirectories(Path.of("target")).resolve("ops-page.png")));

            // only the calls with a failed delivery
            page.getByLabel("Delivery state").selectOption("failed");
            page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Apply")).click();
            assertThat(page.locator("#rows tr")).hasCount(3);
            assertThat(row(page, "919800000002")).hasCount(0);
            for (Locator r : page.locator("#rows tr").all()) {
                assertThat(r.locator(".chip.failed")).hasCount(1);
            }
            assertTrue(tab.urls().stream().anyMatch(u -> u.contains("/api/notifications?delivery_state=failed")), tab.urls().toString());

            // the CRM is repaired; the failed forward is retried from the call's detail
            standIn.stubFor(post(urlPathEqualTo("/crm")).willReturn(aResponse().withStatus(200)));
            row(page, "+91 98765 43210").getByRole(AriaRole.BUTTON).click();
            Locator detail = page.locator("#detail");
            assertThat(detail).isVisible();
            assertThat(detail).containsText("CRM answered 400");
            JsonNode forward = service.delivery(recorded, "crm-forward");
            Locator delivery = detail.locator("li[data-delivery-id='" + forward.get("id").asText() + "']");
            assertThat(delivery.locator(".chip")).hasText("crm-forward: failed");
            delivery.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Retry the crm-forward delivery")).click();
            assertThat(delivery.locator(".chip")).hasText("crm-forward: pending");
            assertThat(delivery.locator(".chip")).hasText("crm-forward: done", new com.microsoft.playwright.assertions.LocatorAssertions
                    .HasTextOptions().setTimeout(30_000));
            assertEquals("done", service.delivery(recorded, "crm-forward").get("state").asText());
            assertThat(detail.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Retry all failed crm-forward"))).isHidden();

            // the recording, fetched with the token in its header and played from a blob: URL
            detail.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Play recording")).click();
            page.waitForFunction("() => document.getElementById('player').readyState >= 2");
            assertTrue(((String) page.evaluate("() => document.getElementById('player').currentSrc")).startsWith("blob:"));
            assertTrue(tab.urls().stream().anyMatch(u -> u.endsWith("/recordings/" + recorded)), tab.urls().toString());

            page.screenshot(new Page.ScreenshotOptions().setPath(Files.createDirectories(Path.of("target")).resolve("ops-page-detail.png")));

            // the bulk replay: every failed crm-forward (the hostile call's) back to pending, then done
            page.keyboard().press("Escape");
            assertThat(detail).isHidden();
            row(page, "919812345678").getByRole(AriaRole.BUTTON).click();
            detail.getByRole(AriaRole.BUTTON, new Locator.GetByRoleOptions().setName("Retry all failed crm-forward")).click();
            assertThat(page.locator("#detail-message")).containsText("2 failed crm-forward deliveries were put back to pending");
            for (String id : List.of(hostile, missed)) {
                Await.until(Duration.ofSeconds(30), () -> forwardState(id), "done"::equals, "the replayed forward of " + id + " to be done");
            }

            assertTrue(tab.dialogs().isEmpty(), "no dialog opened: " + tab.dialogs());
            assertFalse(tab.urls().stream().anyMatch(u -> u.contains(RunningService.API_TOKEN)), "the token never in a URL");
            assertTrue(tab.consoleErrors().isEmpty(), "no script errors or CSP violations: " + tab.consoleErrors());
        }
    }

    @Test
    void everyControlIsLabelledAndReachableByKeyboard() {
        try (Watched tab = open(1280, 800)) {
            Page page = tab.page();
            signIn(page, RunningService.API_TOKEN);
            assertThat(row(page, "919800000001")).isVisible();
            Object unlabelled = page.evaluate("() => [...document.querySelectorAll('input, select, button, audio')]"
                    + ".filter(e => e.getClientRects().length > 0)"
                    + ".filter(e => !((e.labels && e.labels.length && e.labels[0].textContent.trim()) || e.getAttribute('aria-label')"
                    + " || e.textContent.trim()))"
                    + ".map(e => e.outerHTML)");
            assertEquals(List.of(), unlabelled);

            // Tab from the top reaches the filters, then a call; Enter opens it; Escape closes it and gives the focus back
            Locator first = page.locator("#rows tr").first().getByRole(AriaRole.BUTTON);
            boolean reachedFilter = false;
            for (int i = 0; i < 40 && !(Boolean) first.evaluate("e => e === document.activeElement"); i++) {
                page.keyboard().press("Tab");
                reachedFilter |= (Boolean) page.evaluate("() => document.activeElement.id === 'f-phone'");
            }
            assertTrue(reachedFilter, "the phone filter is in the tab order");
            assertThat(first).isFocused();
            page.keyboard().press("Enter");
            assertThat(page.locator("#detail")).isVisible();
            assertThat(page.locator("#detail")).isFocused();
            page.keyboard().press("Escape");
            assertThat(page.locator("#detail")).isHidden();
            assertThat(first).isFocused();
        }
    }

    @Test
    void aPhoneWidthShowsEachCallAsACardWithoutScrollingSideways() throws Exception {
        try (Watched tab = open(390, 844)) {
            Page page = tab.page();
            signIn(page, RunningService.API_TOKEN);
            Locator call = row(page, "+91 98765 43210");
            assertThat(call).isVisible();
            assertEquals(Boolean.TRUE, page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"));
            page.screenshot(new Page.ScreenshotOptions().setPath(Files.createDirectories(Path.of("target")).resolve("ops-page-phone.png")));
            assertThat(page.getByLabel("Phone number")).isVisible();
            page.getByLabel("Phone number").fill("9876543210");
            page.getByLabel("Phone number").press("Enter");
            assertThat(page.locator("#rows tr")).hasCount(1);
            call.getByRole(AriaRole.BUTTON).click();
            assertThat(page.locator("#detail")).isVisible();
            assertEquals(Boolean.TRUE, page.evaluate("() => document.getElementById('detail').getBoundingClientRect().width <= window.innerWidth"));
            assertTrue(tab.consoleErrors().isEmpty(), tab.consoleErrors().toString());
        }
    }

    static {
        // the page waits for nothing longer than this in a slow CI
        com.microsoft.playwright.assertions.PlaywrightAssertions.setDefaultAssertionTimeout(15_000);
    }
}
