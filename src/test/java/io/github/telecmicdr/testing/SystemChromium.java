package io.github.telecmicdr.testing;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Playwright;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The machine's own headless Chromium (Debian's {@code chromium} package, which
 * {@code .ci/install-browser} installs), driven by Playwright. Playwright's driver comes in its
 * jar; it is told never to download a browser, so the tests need no network.
 */
public final class SystemChromium implements AutoCloseable {

    /** Where Debian puts the browser itself; /usr/bin/chromium is a shell wrapper around it. */
    private static final List<String> CANDIDATES = List.of("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser");

    private final Playwright playwright;
    private final Browser browser;

    private SystemChromium(Path executable) {
        playwright = Playwright.create(new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
        try {
            browser = playwright.chromium().launch(new BrowserType.LaunchOptions()
                    .setExecutablePath(executable)
                    .setHeadless(true)
                    // no sound card in CI: the player still decodes, which is what the test checks
                    .setArgs(List.of("--autoplay-policy=no-user-gesture-required", "--mute-audio")));
        } catch (RuntimeException e) {
            playwright.close();
            throw e;
        }
    }

    /** Launches it; fails, saying how to install it, when the machine has none. */
    public static SystemChromium launch() {
        String configured = System.getenv("CHROMIUM");
        List<String> candidates = configured == null || configured.isBlank() ? CANDIDATES : List.of(configured);
        for (String candidate : candidates) {
            Path path = Path.of(candidate);
            if (Files.isExecutable(path)) {
                return new SystemChromium(path);
            }
        }
        throw new IllegalStateException("No Chromium found at " + candidates + ": run .ci/install-browser (apt-get install chromium),"
                + " or set CHROMIUM to its executable");
    }

    public Browser browser() {
        return browser;
    }

    @Override
    public void close() {
        browser.close();
        playwright.close();
    }
}
