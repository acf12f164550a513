package io.github.telecmicdr;

import org.apache.camel.main.Main;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Starts the router. Settings come from {@code application.properties} in the working directory,
 * each overridable by its environment variable or by -D; routes come from {@code routes/*.camel.yaml}.
 */
public final class App {

    static final String PROPERTIES_FILE = "application.properties";

    private App() {
    }

    public static void main(String[] args) throws Exception {
        create().run(args);
    }

    /** The service as {@code java -jar} runs it; tests start the same thing with overrides. */
    public static Main create() {
        // Jakarta Mail looks its StreamProvider up with a ServiceLoader scan of the classpath on
        // every MimeBodyPart, Multipart and encoded header (jakartaee/mail-api#699, #861): a quarter
        // of the CPU while alerts are composed. Naming the provider makes the lookup a Class.forName.
        System.getProperties().putIfAbsent("jakarta.mail.util.StreamProvider", "org.eclipse.angus.mail.util.MailStreamProvider");
        // no package scan: the configuration class is named, so test classes never leak in
        Main main = new Main();
        main.setPropertyPlaceholderLocations("file:" + PROPERTIES_FILE);
        main.configure().addConfiguration(CdrRouterConfiguration.class);
        overridesFromEnvironment(Path.of(PROPERTIES_FILE), System.getenv(), System.getProperties()).forEach(main::addOverrideProperty);
        return main;
    }

    /**
     * For every key of the properties file, the value its environment variable
     * ({@code telecmi.webhook.token} -> {@code TELECMI_WEBHOOK_TOKEN}) or -D gives, -D winning.
     * Camel Main alone applies environment variables to some key families and not to others
     * ({@code camel.server.port} among the latter); this makes every key behave the same. Values are
     * trimmed, as Camel trims those of the file.
     */
    static Map<String, String> overridesFromEnvironment(Path file, Map<String, String> env, Properties system) {
        Properties keys = new Properties();
        if (Files.exists(file)) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                keys.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + file, e);
            }
        }
        Map<String, String> overrides = new java.util.TreeMap<>();
        for (String key : keys.stringPropertyNames()) {
            String fromEnv = env.get(environmentName(key));
            if (fromEnv != null) {
                overrides.put(key, fromEnv.trim());
            }
            String fromSystem = system.getProperty(key);
            if (fromSystem != null) {
                overrides.put(key, fromSystem.trim());
            }
        }
        return overrides;
    }

    static String environmentName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
