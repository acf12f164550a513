package io.github.telecmicdr.api;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.Tokens;
import org.apache.camel.Header;

/** The read API and recordings ask for {@code Authorization: Bearer <api.token>}. */
public final class ApiGuard {

    private final String apiToken;

    public ApiGuard(String apiToken) {
        this.apiToken = apiToken;
    }

    public void authenticate(@Header("Authorization") String authorization) {
        String presented = null;
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = authorization.substring(7).trim();
        }
        if (!Tokens.matches(apiToken, presented)) {
            throw new Problem(401, "a valid 'Authorization: Bearer <api.token>' header is required");
        }
    }
}
