package io.github.telecmicdr.web;

import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * /ui/ over HTTP: the page's files without a token, with their content types and, on every answer
 * under /ui (a 404 and a refusal at the edge too), the security headers; and the files themselves
 * hold no inline script or style and never write HTML from a string.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsPageTest {

    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; object-src 'none';"
            + " base-uri 'none'; frame-ancestors 'none'";

    RunningService service;

    @BeforeAll
    void start() {
        service = RunningService.onH2();
    }

    @AfterAll
    void stop() {
        service.close();
    }

    Response get(String path) {
        return service.send(HttpRequest.newBuilder(service.uri(path)).GET());
    }

    static void assertSecurityHeaders(Response r, String what) {
        assertEquals(CSP, r.header("Content-Security-Policy"), what);
        assertEquals("nosniff", r.header("X-Content-Type-Options"), what);
        assertEquals("no-referrer", r.header("Referrer-Policy"), what);
    }

    @Test
    void thePageIsServedWithoutATokenWithItsContentTypesAndSecurityHeaders() {
        for (Map.Entry<String, String> file : Map.of(
                "/ui/", "text/html; charset=utf-8",
                "/ui/index.html", "text/html; charset=utf-8",
                "/ui/ops.js", "text/javascript; charset=utf-8",
                "/ui/ops.css", "text/css; charset=utf-8",
                "/ui/icon.svg", "image/svg+xml").entrySet()) {
            Response r = get(file.getKey());
            assertEquals(200, r.status(), file.getKey());
            assertEquals(file.getValue(), r.contentType(), file.getKey());
            assertSecurityHeaders(r, file.getKey());
            assertFalse(r.body().isEmpty(), file.getKey());
        }
        assertTrue(get("/ui/").body().contains("<script src=\"ops.js\" defer></script>"));
    }

    @Test
    void everyAnswerUnderUiCarriesTheHeadersAndNothingElseIsServed() {
        for (String path : List.of("/ui/missing.js", "/ui/../application.properties", "/ui/%2e%2e/routes/cdr-api.camel.yaml",
                "/ui/WEB-INF/x", "/ui/ops.js/")) {
            Response r = get(path);
            assertEquals(404, r.status(), path);
            assertSecurityHeaders(r, path);
        }
        Response bare = get("/ui");
        assertEquals(308, bare.status());
        assertEquals("/ui/", bare.header("Location"));
        assertSecurityHeaders(bare, "/ui");
        // a body where none is taken is refused at the edge, before any route: with the headers still
        Response refused = service.send(HttpRequest.newBuilder(service.uri("/ui/")).method("GET", HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(413, refused.status());
        assertSecurityHeaders(refused, "refused at the edge");
        Response post = service.send(HttpRequest.newBuilder(service.uri("/ui/")).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(405, post.status());
        assertSecurityHeaders(post, "POST");
        // the API the page calls still asks for the token, and answers without these page headers
        Response api = get("/api/notifications");
        assertEquals(401, api.status());
        assertEquals(null, api.header("Content-Security-Policy"));
    }

    @Test
    void thePageHoldsNoInlineScriptOrStyleAndNeverWritesHtmlFromAString() throws Exception {
        Path ui = Path.of("src/main/resources/ui");
        String html = Files.readString(ui.resolve("index.html"));
        assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)[^>]*>", Pattern.CASE_INSENSITIVE).matcher(html).find(), "inline script");
        assertFalse(Pattern.compile("<style|\\sstyle=|\\son[a-z]+=", Pattern.CASE_INSENSITIVE).matcher(html).find(), "inline style or handler");
        assertFalse(html.contains("http://") || html.contains("https://"), "nothing from another origin");
        String js = Files.readString(ui.resolve("ops.js"));
        for (String sink : List.of("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                "localStorage", ".style.")) {
            assertFalse(js.contains(sink), "ops.js uses " + sink);
        }
    }
}
