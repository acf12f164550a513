package io.github.telecmicdr;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Every key of application.properties answers to its environment variable and to -D, -D first. */
class AppSettingsTest {

    @Test
    void environmentAndSystemPropertiesOverrideEveryKeyOfTheFile() {
        Properties system = new Properties();
        system.setProperty("camel.server.port", "7001");
        Map<String, String> overrides = App.overridesFromEnvironment(Path.of("application.properties"),
                Map.of("TELECMI_WEBHOOK_TOKEN", "from-env", "CAMEL_SERVER_PORT", "7000", "WEBHOOK_MAX_BODY_BYTES", " 2048 ",
                        "NOT_A_KEY", "ignored"),
                system);
        assertEquals("from-env", overrides.get("telecmi.webhook.token"));
        assertEquals("2048", overrides.get("webhook.max-body-bytes"), "trimmed, as the file's values are");
        assertEquals("7001", overrides.get("camel.server.port"), "-D wins over the environment");
        assertFalse(overrides.containsValue("ignored"));
        assertEquals("TELECMI_ALLOWED_APPIDS", App.environmentName("telecmi.allowed-appids"));
    }
}
