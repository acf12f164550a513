package io.github.telecmicdr.webhook;

import io.github.telecmicdr.testing.RunningService;

/** The webhook contract on the embedded default: an H2 file database. */
class WebhookOnH2Test extends WebhookContract {
    @Override
    RunningService start() {
        return RunningService.onH2();
    }
}
