package io.github.telecmicdr;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which settings' values are redacted from stored errors, by their names and, for URLs, by what they carry. */
class SecretSettingsTest {

    @Test
    void settingsNamedAsSecrets() {
        for (String key : List.of("hubspot.token", "telecmi.secret", "crm.signing-secret", "esb.amqp-password", "crm.authorization",
                "team.api-key", "TEAM-TOKEN")) {
            assertTrue(CdrRouterConfiguration.SECRET_SETTING.matcher(key).find(), key);
        }
        for (String key : List.of("crm.url", "telecmi.appid", "delivery.max-attempts", "mail.smtp.username", "token.count")) {
            assertFalse(CdrRouterConfiguration.SECRET_SETTING.matcher(key).find(), key);
        }
    }

    @Test
    void whatAUrlCarriesBesidesItsAddress() {
        assertEquals(List.of("code=Zm9vYmFyYmF6cXV4&x=1", "Zm9vYmFyYmF6cXV4"),
                CdrRouterConfiguration.credentialsInUrl("https://fn.azurewebsites.net/api/calls?code=Zm9vYmFyYmF6cXV4&x=1"));
        assertEquals(List.of("user:pa55word-long"), CdrRouterConfiguration.credentialsInUrl("amqps://user:pa55word-long@broker:5671"));
        assertEquals(List.of(), CdrRouterConfiguration.credentialsInUrl("https://crm.example.com/hooks/telecmi"));
        assertEquals(List.of(), CdrRouterConfiguration.credentialsInUrl("jdbc:h2:file:./data/cdr-router;WRITE_DELAY=0"));
        assertEquals("abc", CdrRouterConfiguration.credentialsOf("Bearer abc"));
    }
}
