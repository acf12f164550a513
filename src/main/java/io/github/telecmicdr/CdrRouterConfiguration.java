package io.github.telecmicdr;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.alert.AlertEmails;
import io.github.telecmicdr.api.ApiGuard;
import io.github.telecmicdr.crm.CrmAnswers;
import io.github.telecmicdr.crm.CrmRequest;
import io.github.telecmicdr.crm.PhoneNumbers;
import io.github.telecmicdr.delivery.ConfiguredDestinations;
import io.github.telecmicdr.esb.Brokers;
import io.github.telecmicdr.esb.CloudEvents;
import io.github.telecmicdr.delivery.HttpWithoutRetries;
import io.github.telecmicdr.delivery.Deliveries;
import io.github.telecmicdr.delivery.DeliveryComponent;
import io.github.telecmicdr.delivery.DeliveryEndpoint;
import io.github.telecmicdr.delivery.DeliveryQueries;
import io.github.telecmicdr.delivery.Durations;
import io.github.telecmicdr.recording.RecordingDownloadClient;
import io.github.telecmicdr.recording.Recordings;
import io.github.telecmicdr.store.CdrQueries;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.store.H2Compaction;
import io.github.telecmicdr.store.H2Durability;
import io.github.telecmicdr.store.NotificationStore;
import io.github.telecmicdr.store.Retention;
import io.github.telecmicdr.store.StoredNotifications;
import io.github.telecmicdr.telecmi.FanOutFields;
import io.github.telecmicdr.telecmi.TelecmiParser;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.operations.DatabaseHealthCheck;
import io.github.telecmicdr.operations.DiskSpace;
import io.github.telecmicdr.operations.WriterHealthCheck;
import io.github.telecmicdr.web.HttpEdge;
import io.github.telecmicdr.webhook.WebhookGate;
import io.github.telecmicdr.webhook.WebhookOutcomes;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.VertxOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.component.mail.MailComponent;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Builds the beans the routes call, from {@code application.properties} (each key overridable by
 * -D or by its environment variable). Route files name these beans by the ids bound here.
 */
public final class CdrRouterConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(CdrRouterConfiguration.class);

    /** JSON nesting deeper than this is refused: TeleCMI's payloads are flat. */
    static final int MAX_JSON_DEPTH = 32;
    /** What a group commit of a full batch may take on a slow disk, beyond waiting for a connection. */
    static final Duration COMMIT_ALLOWANCE = Duration.ofSeconds(10);

    @Override
    public void configure(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        Settings settings = new Settings(properties);

        ObjectMapper mapper = objectMapper();
        context.getRegistry().bind("objectMapper", mapper);

        Path dataDir = Path.of(settings.get("data.dir", "data"));
        // owner-only before H2, the tokens or anything else puts a file in it
        DataFolder.prepare(dataDir);
        H2Durability.Url durableUrl = H2Durability.of(settings.get("db.url", "jdbc:h2:file:./data/cdr-router;CACHE_SIZE=1024"));
        String dbUrl = durableUrl.url();
        if (!durableUrl.added().isEmpty()) {
            // the URL itself is not logged: it may carry a user name or password
            LOG.info("db.url: added {} to the H2 settings, so that every commit is written before the webhook answers",
                    String.join(";", durableUrl.added()));
        }
        long connectionTimeoutMs = Long.parseLong(settings.get("db.connection-timeout-ms", "5000"));
        HikariDataSource dataSource = Database.pool(
                dbUrl,
                settings.get("db.username", "sa"),
                settings.get("db.password", ""),
                Integer.parseInt(settings.get("db.pool-size", "10")),
                connectionTimeoutMs);
        context.getRegistry().bind("dataSource", dataSource);
        // Migrating (opening H2 included) takes ~0.5 s: it runs while Camel loads and builds the
        // routes, and the first service Camel starts waits for it, before any route consumes.
        FutureTask<Void> migration = new FutureTask<>(() -> Database.migrate(dataSource, dbUrl), null);
        Thread migrating = new Thread(migration, "db-migration");
        migrating.setDaemon(true);
        migrating.start();
        context.addService(new ServiceSupport() {
            @Override
            protected void doStart() throws Exception {
                try {
                    migration.get();
                } catch (ExecutionException e) {
                    // as if migrated here: Flyway's own exception, nothing added
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
                // H2 created its files with the process's umask (inside the 700 folder)
                DataFolder.restrictContents(dataDir);
            }

            @Override
            protected void doStop() {
                dataSource.close();
            }
        }, true, true);
        if (H2Compaction.appliesTo(dbUrl)) {
            // added after the pool's service, so stopped before the pool closes
            context.addService(new H2Compaction(dataSource, Long.parseLong(settings.get("db.h2-compaction-interval-ms", "62"))), true, true);
        }

        int serverPort = Integer.parseInt(settings.get("camel.server.port", "8080"));
        boolean https = Boolean.parseBoolean(settings.get("camel.server.use-global-ssl-context-parameters", "false"));
        if (https && context.getSSLContextParameters() == null) {
            // Camel would serve plain HTTP without a word: refuse rather than expose the webhook token
            throw new IllegalArgumentException("camel.server.use-global-ssl-context-parameters is true but no key store is configured:"
                    + " set camel.ssl.enabled=true, camel.ssl.key-store and camel.ssl.keystore-password (README: Serve HTTPS)");
        }
        Tokens.Generated webhookToken = Tokens.resolve(settings.get("telecmi.webhook.token", ""), dataDir, "webhook-token");
        Tokens.Generated apiToken = Tokens.resolve(settings.get("api.token", ""), dataDir, "api-token");
        String telecmiSecret = settings.get("telecmi.secret", "");
        String crmAuthorization = settings.get("crm.authorization", "");
        String crmSigningSecret = settings.get("crm.signing-secret", "");
        List<String> secrets = List.of(webhookToken.value(), apiToken.value(), telecmiSecret,
                settings.get("mail.smtp.password", ""), settings.get("db.password", ""),
                HttpEdge.keyStorePassword(context), crmAuthorization, credentialsOf(crmAuthorization), crmSigningSecret,
                settings.get("esb.broker-password", ""), settings.get("esb.amqp-password", ""));

        Clock clock = Clock.systemUTC();
        // one meter registry for Camel's metrics and ours, served on the management port
        MeterRegistry meterRegistry = context.getRegistry().lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (meterRegistry == null) {
            meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            context.getRegistry().bind(MicrometerConstants.METRICS_REGISTRY_NAME, meterRegistry);
        }
        CdrMetrics metrics = new CdrMetrics(meterRegistry, dataSource, clock);
        context.getRegistry().bind("databaseHealthCheck", new DatabaseHealthCheck(dataSource));
        context.getRegistry().bind("diskSpace", new DiskSpace(dataDir, Long.parseLong(settings.get("disk.min-free-bytes", "104857600"))));
        // a request waits this long for the commit that holds it, then answers 503: a connection
        // from the pool (db.connection-timeout-ms), plus what a commit of a full batch may take
        Duration commitWaitBound = Duration.ofMillis(connectionTimeoutMs).plus(COMMIT_ALLOWANCE);
        WebhookOutcomes outcomes = new WebhookOutcomes(metrics);
        context.getRegistry().bind("webhookOutcomes", outcomes);
        ProblemResponses problems = new ProblemResponses(mapper);
        problems.onWebhookRefusal(outcomes::refused);
        context.getRegistry().bind("problems", problems);
        HttpEdge edge = new HttpEdge(new HttpEdge.Limits(
                Long.parseLong(settings.get("http.idle-timeout-ms", "60000")),
                Long.parseLong(settings.get("webhook.request-timeout-ms", "30000")),
                Integer.parseInt(settings.get("http.max-connections", "1000"))),
                problems, List.of(WebhookGate.PATH_PREFIX));
        // worker threads of the HTTP servers: each webhook request waits on one for its group commit,
        // so this bounds how many requests share a commit
        edge.install(context, new VertxOptions().setWorkerPoolSize(Integer.parseInt(settings.get("http.worker-threads", "64"))));
        edge.reportRefusalsUnder(WebhookGate.PATH_PREFIX, outcomes::refusedAtEdge);
        context.getRegistry().bind("telecmiParser", new TelecmiParser(mapper));
        context.getRegistry().bind("fanOutFields", new FanOutFields());
        Duration deliveryLease = Durations.parse("delivery.lease", settings.get("delivery.lease", "2m"));
        Deliveries deliveries = new Deliveries(dataSource, mapper, clock, new Deliveries.Settings(
                Integer.parseInt(settings.get("delivery.max-attempts", "10")),
                Durations.parse("delivery.max-age", settings.get("delivery.max-age", "24h")),
                deliveryLease,
                Durations.parse("delivery.backoff-initial", settings.get("delivery.backoff-initial", "10s")),
                Durations.parse("delivery.backoff-max", settings.get("delivery.backoff-max", "30m")),
                Integer.parseInt(settings.get("delivery.batch-size", "20")), commitWaitBound), metrics, secrets, context::isStopping);
        context.getRegistry().bind("deliveries", deliveries);
        // from: delivery:<kind> in a route; each option also as delivery.<kind>.<option>
        TelecmiParser telecmiParser = context.getRegistry().lookupByNameAndType("telecmiParser", TelecmiParser.class);
        PhoneNumbers phoneNumbers = new PhoneNumbers(settings.get("phone.default-region", "IN"));
        StoredNotifications storedNotifications = new StoredNotifications(dataSource, telecmiParser, phoneNumbers::e164,
                settings.get("public.base-url", "http://localhost:" + serverPort));
        context.getRegistry().bind("httpWithoutRetries", new HttpWithoutRetries());
        context.getRegistry().bind("crmRequest", new CrmRequest(settings.get("crm.url", ""), crmAuthorization, crmSigningSecret, clock));
        context.getRegistry().bind("crmAnswers", new CrmAnswers(clock, deliveries::redact));
        // the jms and amqp components' connection factories, from esb.broker-url / esb.amqp-url when set
        Brokers.configure(context, key -> properties.resolveProperty(key).orElse(null));
        context.getRegistry().bind("cloudEvents", new CloudEvents(settings.get("esb.source", ""), settings.get("telecmi.appid", "")));
        context.addComponent("delivery", new DeliveryComponent(deliveries, storedNotifications, new DeliveryEndpoint.Defaults(
                Integer.parseInt(settings.get("delivery.concurrency", "16")),
                Long.parseLong(settings.get("delivery.poll-interval-ms", "500")),
                deliveries.maxAttempts(), deliveries.maxAge())));
        context.getRegistry().bind("deliveryQueries", new DeliveryQueries(dataSource, mapper));
        ConfiguredDestinations destinations = new ConfiguredDestinations(settings.get("delivery.destinations", ""),
                key -> properties.resolveProperty(key).orElse(null));
        context.getRegistry().bind("configuredDestinations", destinations);
        if (!destinations.kinds().isEmpty()) {
            LOG.info("Destinations planned for every new notification of their kinds (delivery.destinations): {}", destinations.kinds());
        }
        context.addService(new ServiceSupport() {
            @Override
            protected void doStart() {
                deliveries.start();
            }

            @Override
            protected void doStop() {
                deliveries.stop();
            }
        }, true, true);
        NotificationStore notificationStore = new NotificationStore(dataSource, deliveries, clock,
                Integer.parseInt(settings.get("db.max-batch", "256")), commitWaitBound);
        context.getRegistry().bind("notificationStore", notificationStore);
        context.getRegistry().bind("writerHealthCheck", new WriterHealthCheck(Map.of(
                "notifications", notificationStore::writerProblem, "delivery completions", deliveries::writerProblem)));
        context.addService(notificationStore, true, true);
        Path recordingsDir = Path.of(settings.get("recordings.dir", dataDir.resolve("recordings").toString())).toAbsolutePath();
        Duration retentionMaxAge = Durations.parse("retention.max-age", settings.get("retention.max-age", "90d"));
        if (!retentionMaxAge.isZero() && retentionMaxAge.compareTo(deliveries.maxAge()) <= 0) {
            // a call would be removed while its deliveries may still be retried
            throw new IllegalArgumentException("retention.max-age (" + settings.get("retention.max-age", "90d")
                    + ") must be longer than delivery.max-age (" + settings.get("delivery.max-age", "24h") + "), or 0 to keep everything");
        }
        Retention retention = new Retention(dataSource, clock, retentionMaxAge, recordingsDir, dataDir.resolve("outbox").toAbsolutePath());
        context.getRegistry().bind("retention", retention);
        if (retention.keepsEverything()) {
            LOG.info("retention.max-age is 0: notifications, recordings and alert emails are kept for good");
        }
        CdrQueries cdrQueries = new CdrQueries(dataSource, mapper);
        context.getRegistry().bind("cdrQueries", cdrQueries);
        context.getRegistry().bind("alertEmails", new AlertEmails(
                settings.get("alert.from", "telecmi-cdr-router@localhost"),
                settings.get("alert.to", "alerts@localhost"),
                settings.get("alert.time-zone", "UTC")));
        Duration downloadTimeout = Durations.parse("recordings.download-timeout", settings.get("recordings.download-timeout", "90s"));
        if (downloadTimeout.compareTo(deliveryLease) >= 0) {
            LOG.warn("recordings.download-timeout ({}) is not shorter than delivery.lease ({}): a download still running when its"
                    + " lease ends is claimed again", settings.get("recordings.download-timeout", "90s"), settings.get("delivery.lease", "2m"));
        }
        Recordings recordings = new Recordings(dataSource, cdrQueries, mapper, new Recordings.Settings(
                recordingsDir,
                settings.get("telecmi.appid", ""), telecmiSecret,
                Long.parseLong(settings.get("recordings.max-bytes", "209715200")), downloadTimeout), clock);
        context.getRegistry().bind("recordings", recordings);
        // started before the routes: leftovers of downloads cut off by a crash are gone before any download runs
        context.addService(recordings, true, true);
        context.getRegistry().bind("recordingDownloadClient", new RecordingDownloadClient());
        String smtpUser = settings.get("mail.smtp.username", "");
        if (!smtpUser.isEmpty()) {
            // only when set: camel-mail authenticates whenever a username is present, even an empty one
            MailComponent smtp = context.getComponent("smtp", MailComponent.class);
            smtp.getConfiguration().setUsername(smtpUser);
            smtp.getConfiguration().setPassword(settings.get("mail.smtp.password", ""));
        }
        if (settings.get("mail.smtp.host", "").isEmpty()) {
            LOG.info("No mail.smtp.host set: alert emails are written as .eml files to {}", dataDir.resolve("outbox").toAbsolutePath());
        }
        context.getRegistry().bind("webhookGate", new WebhookGate(
                webhookToken.value(),
                Long.parseLong(settings.get("webhook.max-body-bytes", "1048576")),
                serverPort,
                settings.get("telecmi.allowed-appids", ""),
                problems, outcomes));
        ApiGuard apiGuard = new ApiGuard(apiToken.value(), edge);
        edge.guardPublicRouter(apiGuard::guard);
        context.getRegistry().bind("apiGuard", apiGuard);

        if (webhookToken.isNew()) {
            // shown once, on the start that generated it; later starts reuse it silently
            // where it is, never what it is: logs are collected, copied and kept far longer than tokens stay secret
            String scheme = https ? "https" : "http";
            LOG.info("Generated a webhook token, kept in {}. Point TeleCMI at {}://<this-host>:{}/webhooks/telecmi/<the token in that file>",
                    dataDir.resolve("webhook-token").toAbsolutePath(), scheme, serverPort);
        }
        if (apiToken.isNew()) {
            LOG.info("Generated an API token, kept in {}: send it as 'Authorization: Bearer <token>'", dataDir.resolve("api-token"));
        }
    }

    /** The credentials of an Authorization value ("Bearer abc" -> "abc"): a server may echo them without the scheme. */
    static String credentialsOf(String authorization) {
        int space = authorization.indexOf(' ');
        return space < 0 ? authorization : authorization.substring(space + 1).trim();
    }

    /** The one JSON configuration: strict on input (duplicate keys, depth, trailing data). */
    static ObjectMapper objectMapper() {
        JsonFactory factory = JsonFactory.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_JSON_DEPTH).build())
                .build();
        return JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .build();
    }

    /** Property look-ups with the defaults this class falls back on when a key is absent. */
    private record Settings(PropertiesComponent properties) {
        String get(String key, String fallback) {
            return properties.resolveProperty(key).map(String::trim).orElse(fallback);
        }
    }
}
