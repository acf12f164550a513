package io.github.telecmicdr;

import org.apache.camel.main.Main;

/**
 * Starts the router. Settings come from {@code application.properties} in the working directory
 * (overridable by -D and by environment variables) and routes from {@code routes/*.camel.yaml}.
 */
public final class App {

    private App() {
    }

    public static void main(String[] args) throws Exception {
        create().run(args);
    }

    /** The service as {@code java -jar} runs it; tests start the same thing with overrides. */
    public static Main create() {
        // no package scan: the configuration class is named, so test classes never leak in
        Main main = new Main();
        main.setPropertyPlaceholderLocations("file:application.properties");
        main.configure().addConfiguration(CdrRouterConfiguration.class);
        return main;
    }
}
