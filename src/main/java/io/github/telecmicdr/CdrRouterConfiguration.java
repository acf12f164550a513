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
import io.github.telecmicdr.delivery.Deliveries;
import io.github.telecmicdr.delivery.DeliveryComponent;
import io.github.telecmicdr.delivery.DeliveryEndpoint;
import io.github.telecmicdr.delivery.DeliveryQueries;
import io.github.telecmicdr.delivery.DestinationsAtStart;
import io.github.telecmicdr.delivery.Durations;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.operations.DatabaseHealthCheck;
import io.github.telecmicdr.operations.DiskSpace;
import io.github.telecmicdr.operations.ReconcileHealthCheck;
import io.github.telecmicdr.operations.WriterHealthCheck;
import io.github.telecmicdr.recording.RecordingDownloadClient;
import io.github.telecmicdr.recording.Recordings;
import io.github.telecmicdr.reconcile.Reconciliation;
import io.github.telecmicdr.store.CdrQueries;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.store.H2Compaction;
import io.github.telecmicdr.store.H2Durability;
import io.github.telecmicdr.store.NotificationQueries;
import io.github.telecmicdr.store.NotificationStore;
import io.github.telecmicdr.store.Retention;
import io.github.telecmicdr.store.StoredNotifications;
import io.github.telecmicdr.telecmi.FanOutFields;
import io.github.telecmicdr.telecmi.TelecmiParser;
import io.github.telecmicdr.web.HttpEdge;
import io.github.telecmicdr.web.OpsPage;
import io.github.telecmicdr.webhook.WebhookGate;
import io.github.telecmicdr.webhook.WebhookOutcomes;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.VertxOptions;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.Service;
import org.apache.camel.component.mail.MailComponent;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The beans the routes call, bound under the ids the route files name ({@code ref: deliveries}).
 * Every setting comes from {@code application.properties}, where its default is written (a key
 * missing there stops the start, naming it), each overridable by -D or its environment variable.
 * <p>
 * A bean built from settings alone is a {@code @BindToRegistry} method: Camel binds it under the
 * method's name before {@link #configure} runs. A bean built from other beans is made by a method
 * {@link #configure} calls and binds, in order: Camel orders {@code @BindToRegistry} methods by a
 * guess on their parameter types that does not follow a chain of beans, and here the order is part
 * of the behaviour (the services start in the order they are added, and stop in reverse).
 */
public final class CdrRouterConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(CdrRouterConfiguration.class);

    /** JSON nesting deeper than this is refused: TeleCMI's payloads are flat. */
    static final int MAX_JSON_DEPTH = 32;
    /** What a group commit of a full batch may take on a slow disk, beyond waiting for a connection. */
    static final Duration COMMIT_ALLOWANCE = Duration.ofSeconds(10);

    // --- HTTP server
    @PropertyInject("camel.server.port")
    private int serverPort;
    @PropertyInject("camel.server.use-global-ssl-context-parameters")
    private boolean https;
    @PropertyInject("http.worker-threads")
    private int workerThreads;
    @PropertyInject("http.idle-timeout-ms")
    private long idleTimeoutMs;
    @PropertyInject("http.max-connections")
    private int maxConnections;

    // --- Data
    @PropertyInject("data.dir")
    private String dataDir;
    @PropertyInject("db.url")
    private String dbUrl;
    @PropertyInject("db.username")
    private String dbUsername;
    @PropertyInject("db.password")
    private String dbPassword;
    @PropertyInject("db.pool-size")
    private int dbPoolSize;
    @PropertyInject("db.max-batch")
    private int dbMaxBatch;
    @PropertyInject("delivery.yield-to-webhooks-above")
    private int deliveryYieldAbove;
    @PropertyInject("delivery.yield-max")
    private String deliveryYieldMax;
    @PropertyInject("db.connection-timeout-ms")
    private long dbConnectionTimeoutMs;
    @PropertyInject("db.socket-timeout")
    private String dbSocketTimeout;
    @PropertyInject("retention.max-age")
    private String retentionMaxAge;
    @PropertyInject("db.h2-compaction-interval-ms")
    private long h2CompactionIntervalMs;

    // --- Webhook
    @PropertyInject("telecmi.webhook.token")
    private String webhookToken;
    @PropertyInject("webhook.max-body-bytes")
    private long webhookMaxBodyBytes;
    @PropertyInject("webhook.request-timeout-ms")
    private long webhookRequestTimeoutMs;
    @PropertyInject("telecmi.allowed-appids")
    private String allowedAppids;

    // --- Email alert and SMTP
    @PropertyInject("alert.to")
    private String alertTo;
    @PropertyInject("alert.from")
    private String alertFrom;
    @PropertyInject("alert.time-zone")
    private String alertTimeZone;
    @PropertyInject("public.base-url")
    private String publicBaseUrl;
    @PropertyInject("mail.smtp.host")
    private String smtpHost;
    @PropertyInject("mail.smtp.username")
    private String smtpUsername;
    @PropertyInject("mail.smtp.password")
    private String smtpPassword;

    // --- Deliveries (durations as written, parsed with the key they came from for a clear error)
    @PropertyInject("delivery.poll-interval-ms")
    private long deliveryPollIntervalMs;
    @PropertyInject("delivery.max-attempts")
    private int deliveryMaxAttempts;
    @PropertyInject("delivery.max-age")
    private String deliveryMaxAge;
    @PropertyInject("delivery.lease")
    private String deliveryLease;
    @PropertyInject("delivery.backoff-initial")
    private String deliveryBackoffInitial;
    @PropertyInject("delivery.backoff-max")
    private String deliveryBackoffMax;
    @PropertyInject("delivery.batch-size")
    private int deliveryBatchSize;
    @PropertyInject("delivery.concurrency")
    private int deliveryConcurrency;

    // --- TeleCMI account and recordings
    @PropertyInject("telecmi.appid")
    private String telecmiAppid;
    @PropertyInject("telecmi.secret")
    private String telecmiSecret;
    @PropertyInject("recordings.dir")
    private String recordingsDir;
    @PropertyInject("recordings.max-bytes")
    private long recordingsMaxBytes;
    @PropertyInject("recordings.download-timeout")
    private String recordingsDownloadTimeout;

    // --- Reconciliation with TeleCMI's pull API
    @PropertyInject("reconcile.interval")
    private String reconcileInterval;
    @PropertyInject("reconcile.overlap")
    private String reconcileOverlap;
    @PropertyInject("reconcile.delay")
    private String reconcileDelay;
    @PropertyInject("reconcile.initial-lookback")
    private String reconcileInitialLookback;
    @PropertyInject("reconcile.page-size")
    private int reconcilePageSize;
    @PropertyInject("reconcile.lease")
    private String reconcileLease;

    // --- Read API
    @PropertyInject("api.token")
    private String apiToken;

    // --- CRM forward and ESB publish
    @PropertyInject("phone.default-region")
    private String phoneDefaultRegion;
    @PropertyInject("crm.url")
    private String crmUrl;
    @PropertyInject("crm.authorization")
    private String crmAuthorization;
    @PropertyInject("crm.signing-secret")
    private String crmSigningSecret;
    @PropertyInject("crm.timeout-ms")
    private long crmTimeoutMs;
    @PropertyInject("esb.source")
    private String esbSource;
    @PropertyInject("esb.uri")
    private String esbUri;
    @PropertyInject("esb.broker-url")
    private String esbBrokerUrl;
    @PropertyInject("esb.amqp-url")
    private String esbAmqpUrl;

    @Override
    public void configure(CamelContext camel) throws Exception {
        refuseHttpsWithoutKeyStore(camel);
        // {{millis:<key>}} in a route: a duration setting in milliseconds (a timer's period), ISO-8601 included
        camel.getPropertiesComponent().addPropertiesFunction(Durations.millisFunction(camel.getPropertiesComponent()));
        refuseRetentionWhileDeliveriesRetry();
        refuseListsWithSpaces(camel);
        refuseAnEsbWithoutItsBroker();
        warnWhenDownloadsOutlastTheirLease();
        warnWhenCrmForwardsOutlastTheirLease();
        Path data = Path.of(dataDir).normalize();
        // owner-only before H2, the tokens or anything else puts a file in it
        DataFolder.prepare(data);
        Clock clock = Clock.systemUTC();

        ObjectMapper objectMapper = bind(camel, "objectMapper", objectMapper());
        String url = durableDbUrl();
        HikariDataSource dataSource = bind(camel, "dataSource",
                Database.pool(url, dbUsername, dbPassword, dbPoolSize, dbConnectionTimeoutMs, Durations.parse("db.socket-timeout", dbSocketTimeout)));
        // the first service Camel starts, the last it stops
        camel.addService(migratedPool(dataSource, url, data), true, true);
        if (H2Compaction.appliesTo(url)) {
            // added after the pool's service, so stopped before the pool closes
            camel.addService(new H2Compaction(dataSource, h2CompactionIntervalMs), true, true);
        }
        Tokens.Generated webhook = Tokens.resolve(webhookToken, data, "webhook-token");
        Tokens.Generated api = Tokens.resolve(apiToken, data, "api-token");
        CdrMetrics metrics = new CdrMetrics(meterRegistry(camel), dataSource, clock);
        bind(camel, "databaseHealthCheck", new DatabaseHealthCheck(dataSource));

        WebhookOutcomes outcomes = bind(camel, "webhookOutcomes", new WebhookOutcomes(metrics));
        ProblemResponses problems = bind(camel, "problems", problems(objectMapper, outcomes));
        HttpEdge edge = httpEdge(camel, problems, outcomes);
        TelecmiParser telecmiParser = bind(camel, "telecmiParser", new TelecmiParser(objectMapper));

        Deliveries deliveries = bind(camel, "deliveries",
                deliveries(camel, dataSource, objectMapper, clock, metrics, secrets(camel, webhook, api)));
        // from: delivery:<kind> in a route; each option also as delivery.<kind>.<option>
        StoredNotifications storedNotifications = storedNotifications(dataSource, telecmiParser);
        camel.addComponent("delivery", deliveryComponent(deliveries, storedNotifications));
        camel.addService(claiming(deliveries), true, true);
        camel.addStartupListener(new DestinationsAtStart());
        bind(camel, "deliveryQueries", new DeliveryQueries(dataSource, objectMapper));
        NotificationStore notificationStore = bind(camel, "notificationStore", notificationStore(dataSource, deliveries, clock));
        metrics.webhooksWaiting(notificationStore::waitingForCommit);
        camel.addService(notificationStore, true, true);
        bind(camel, "writerHealthCheck", new WriterHealthCheck("writers", Map.of(
                "notifications", notificationStore::writerProblem, "delivery completions", deliveries::writerProblem), false));
        bind(camel, "writerLivenessCheck", new WriterHealthCheck("writers-alive", Map.of(
                "notifications", notificationStore::writerFailure, "delivery completions", deliveries::writerFailure), true));

        bind(camel, "retention", retention(dataSource, clock, data));
        CdrQueries cdrQueries = bind(camel, "cdrQueries", new CdrQueries(dataSource, objectMapper));
        bind(camel, "notificationQueries", new NotificationQueries(dataSource, objectMapper, cdrQueries, storedNotifications,
                new PhoneNumbers(phoneDefaultRegion)::writtenForms));
        bind(camel, "alertEmails", new AlertEmails(alertFrom, alertTo, alertTimeZone));
        Recordings recordings = bind(camel, "recordings", recordings(dataSource, cdrQueries, objectMapper, clock));
        // started before the routes: leftovers of downloads cut off by a crash are gone before any download runs
        camel.addService(recordings, true, true);
        configureSmtp(camel, data);
        bind(camel, "crmAnswers", new CrmAnswers(clock, deliveries::redact));
        bind(camel, "crmRequest", new CrmRequest(crmUrl, crmAuthorization, crmSigningSecret, clock));
        // the jms and amqp components' connection factories, from esb.broker-url / esb.amqp-url when set
        Brokers.configure(camel, key -> camel.getPropertiesComponent().resolveProperty(key).orElse(null));
        bind(camel, "cloudEvents", new CloudEvents(esbSource, telecmiAppid));
        Reconciliation reconciliation = bind(camel, "reconciliation", reconciliation(dataSource, objectMapper, clock, metrics, deliveries));
        bind(camel, "reconcileHealthCheck", new ReconcileHealthCheck(reconciliation::health));

        bind(camel, "webhookGate", webhookGate(webhook, problems, outcomes));
        bind(camel, "apiGuard", apiGuard(api, edge));
        bind(camel, "opsPage", opsPage(edge));
        logWhereGeneratedTokensAre(webhook, api, data);
    }

    // --- beans built from settings alone, bound by Camel under the method's name

    @BindToRegistry
    public FanOutFields fanOutFields() {
        return new FanOutFields(!crmUrl.isBlank(), !esbUri.isBlank());
    }

    @BindToRegistry
    public RecordingDownloadClient recordingDownloadClient() {
        return new RecordingDownloadClient();
    }

    /** Readiness goes DOWN, and the webhook answers 503, below this much free space for the data folder. */
    @BindToRegistry
    public DiskSpace diskSpace(@PropertyInject("data.dir") String dataDir, @PropertyInject("disk.min-free-bytes") long minFreeBytes) {
        return new DiskSpace(Path.of(dataDir).normalize(), minFreeBytes);
    }

    /** Destinations added by configuration alone, planned by the webhook route for every new notification of their kinds. */
    @BindToRegistry
    public ConfiguredDestinations configuredDestinations(CamelContext camel, @PropertyInject("delivery.destinations") String kinds) {
        ConfiguredDestinations destinations = new ConfiguredDestinations(kinds,
                key -> camel.getPropertiesComponent().resolveProperty(key).orElse(null));
        return destinations;
    }

    // --- checks that refuse a start, before anything is opened

    private void refuseHttpsWithoutKeyStore(CamelContext camel) {
        if (https && camel.getSSLContextParameters() == null) {
            // Camel would serve plain HTTP without a word: refuse rather than expose the webhook token
            throw new IllegalArgumentException("camel.server.use-global-ssl-context-parameters is true but no key store is configured:"
                    + " set camel.ssl.enabled=true, camel.ssl.key-store and camel.ssl.keystore-password (README: Serve HTTPS)");
        }
    }

    private void refuseRetentionWhileDeliveriesRetry() {
        Duration retention = Durations.parse("retention.max-age", retentionMaxAge);
        if (!retention.isZero() && retention.compareTo(Durations.parse("delivery.max-age", deliveryMaxAge)) <= 0) {
            // a call would be removed while its deliveries may still be retried
            throw new IllegalArgumentException("retention.max-age (" + retentionMaxAge
                    + ") must be longer than delivery.max-age (" + deliveryMaxAge + "), or 0 to keep everything");
        }
    }

    /**
     * The webhook route matches these with Simple's {@code in}, which does not trim: "a, b" would
     * never match b, silently. Refused at start instead, naming the setting.
     */
    static void refuseListsWithSpaces(CamelContext camel) {
        for (String key : List.of("alert.hangup-reasons", "crm.kinds", "esb.kinds")) {
            String value = camel.getPropertiesComponent().resolveProperty(key).orElse("");
            if (value.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException(key + " must be a comma-separated list without spaces, such as"
                        + " incoming-answered-cdr,incoming-missed-cdr (it is '" + value + "')");
            }
        }
    }

    /** A jms: or amqp: esb.uri with no broker to reach would fail every event for a day: refused at start. */
    private void refuseAnEsbWithoutItsBroker() {
        if (esbUri.startsWith("jms:") && esbBrokerUrl.isBlank()) {
            throw new IllegalArgumentException("esb.uri is a jms: endpoint but esb.broker-url is not set (e.g. tcp://broker:61616)");
        }
        if (esbUri.startsWith("amqp:") && esbAmqpUrl.isBlank()) {
            throw new IllegalArgumentException("esb.uri is an amqp: endpoint but esb.amqp-url is not set (e.g. amqp://broker:5672)");
        }
    }

    private void warnWhenDownloadsOutlastTheirLease() {
        if (Durations.parse("recordings.download-timeout", recordingsDownloadTimeout)
                .compareTo(Durations.parse("delivery.lease", deliveryLease)) >= 0) {
            LOG.warn("recordings.download-timeout ({}) is not shorter than delivery.lease ({}): a download still running when its"
                    + " lease ends is claimed again", recordingsDownloadTimeout, deliveryLease);
        }
    }

    private void warnWhenCrmForwardsOutlastTheirLease() {
        // an attempt may take crm.timeout-ms to connect and as long again for the answer
        if (Duration.ofMillis(2 * crmTimeoutMs).compareTo(Durations.parse("delivery.lease", deliveryLease)) >= 0) {
            LOG.warn("Twice crm.timeout-ms ({} ms) is not shorter than delivery.lease ({}): a forward still waiting for the CRM when"
                    + " its lease ends is claimed again and sent twice", crmTimeoutMs, deliveryLease);
        }
    }

    // --- beans built from other beans, in the order configure() calls them

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

    /** db.url with what H2 needs for every commit to be written before the webhook answers. */
    private String durableDbUrl() {
        H2Durability.Url durable = H2Durability.of(dbUrl);
        if (!durable.added().isEmpty()) {
            // the URL itself is not logged: it may carry a user name or password
            LOG.info("db.url: added {} to the H2 settings, so that every commit is written before the webhook answers",
                    String.join(";", durable.added()));
        }
        return durable.url();
    }

    /**
     * Migrating (opening H2 included) takes ~0.5 s: it runs on its own thread while Camel loads and
     * builds the routes, and this service, the first Camel starts, waits for it before any route
     * consumes. Stopped last, it closes the pool.
     */
    private static Service migratedPool(HikariDataSource dataSource, String url, Path data) {
        FutureTask<Void> migration = new FutureTask<>(() -> Database.migrate(dataSource, url), null);
        Thread migrating = new Thread(migration, "db-migration");
        migrating.setDaemon(true);
        migrating.start();
        return new ServiceSupport() {
            @Override
            protected void doStart() throws Exception {
                try {
                    migration.get();
                } catch (ExecutionException e) {
                    // as if migrated here: the migration's own exception (Flyway's, or H2's on opening), nothing added
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
                // H2 created its files with the process's umask (inside the 700 folder)
                DataFolder.restrictContents(data);
            }

            @Override
            protected void doStop() {
                dataSource.close();
            }
        };
    }

    /** One meter registry for Camel's metrics and ours, served on the management port. */
    private static MeterRegistry meterRegistry(CamelContext camel) {
        MeterRegistry registry = camel.getRegistry().lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (registry == null) {
            registry = bind(camel, MicrometerConstants.METRICS_REGISTRY_NAME, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        }
        return registry;
    }

    /**
     * Every secret the service knows, redacted from what deliveries store as their last error: the
     * tokens (generated ones too), the key store's password, the value of every setting whose name
     * says it is one (ending in token, secret, password or authorization: a destination a user adds,
     * such as hubspot.token, is covered without code), set in the file, the environment or by -D;
     * an Authorization's credentials alone too; and what a URL setting carries besides its address
     * (user info, query: a crm.url of the Azure Functions kind holds its key in ?code=).
     */
    private List<String> secrets(CamelContext camel, Tokens.Generated webhook, Tokens.Generated api) {
        List<String> secrets = new ArrayList<>(List.of(webhook.value(), api.value(), HttpEdge.keyStorePassword(camel)));
        Set<String> keys = new TreeSet<>(camel.getPropertiesComponent().loadProperties().stringPropertyNames());
        keys.addAll(System.getProperties().stringPropertyNames());
        for (String key : keys) {
            if (SECRET_SETTING.matcher(key).find() || URL_SETTING.matcher(key).find()) {
                String value = camel.getPropertiesComponent().resolveProperty(key).orElse("");
                secrets.addAll(URL_SETTING.matcher(key).find() ? credentialsInUrl(value) : List.of(value));
                if (key.endsWith("authorization")) {
                    secrets.add(credentialsOf(value));
                }
            }
        }
        // set only in the environment, for a route's {{placeholder}}: MYDEST_TOKEN
        System.getenv().forEach((name, value) -> {
            if (SECRET_SETTING.matcher(name.replace('_', '-')).find()) {
                secrets.add(value);
            }
        });
        return secrets;
    }

    /** What a URL holds besides its address: its user info, its query, and each query value of 8 characters or more. */
    static List<String> credentialsInUrl(String url) {
        List<String> found = new ArrayList<>();
        int scheme = url.indexOf("://");
        int at = url.indexOf('@');
        int slash = scheme < 0 ? -1 : url.indexOf('/', scheme + 3);
        if (scheme >= 0 && at > scheme && (slash < 0 || at < slash)) {
            found.add(url.substring(scheme + 3, at));
        }
        int query = url.indexOf('?');
        if (query >= 0 && query + 1 < url.length()) {
            found.add(url.substring(query + 1));
            for (String pair : url.substring(query + 1).split("[&;]")) {
                int eq = pair.indexOf('=');
                // a value as short as "true" or "1024" is a setting, not a key: redacting it would garble errors
                if (eq >= 0 && pair.length() - eq - 1 >= 8) {
                    found.add(pair.substring(eq + 1));
                }
            }
        }
        return found;
    }

    /** Settings that hold an address (which may hold a key or a password). */
    static final Pattern URL_SETTING = Pattern.compile("(?i)(url|uri)$");

    /** Settings that hold a secret, by the end of their name. */
    static final Pattern SECRET_SETTING = Pattern.compile("(?i)(token|secret|password|passphrase|authorization|api-key|apikey)$");

    /** The credentials of an Authorization value ("Bearer abc" -> "abc"): a server may echo them without the scheme. */
    static String credentialsOf(String authorization) {
        int space = authorization.indexOf(' ');
        return space < 0 ? authorization : authorization.substring(space + 1).trim();
    }

    private static ProblemResponses problems(ObjectMapper objectMapper, WebhookOutcomes outcomes) {
        ProblemResponses problems = new ProblemResponses(objectMapper);
        problems.onWebhookRefusal(outcomes::refused);
        return problems;
    }

    /** The HTTP servers' own limits, in front of every route on both ports. */
    private HttpEdge httpEdge(CamelContext camel, ProblemResponses problems, WebhookOutcomes outcomes) throws Exception {
        HttpEdge edge = new HttpEdge(new HttpEdge.Limits(idleTimeoutMs, webhookRequestTimeoutMs, maxConnections),
                problems, List.of(WebhookGate.PATH_PREFIX));
        // worker threads of the HTTP servers: each webhook request waits on one for its group commit,
        // so this bounds how many requests share a commit
        edge.install(camel, new VertxOptions().setWorkerPoolSize(workerThreads));
        edge.reportRefusalsUnder(WebhookGate.PATH_PREFIX, outcomes::refusedAtEdge);
        return edge;
    }

    /**
     * A request waits this long for the commit that holds it, then answers 503: a connection from
     * the pool (db.connection-timeout-ms), plus what a commit of a full batch may take.
     */
    private Duration commitWaitBound() {
        return Duration.ofMillis(dbConnectionTimeoutMs).plus(COMMIT_ALLOWANCE);
    }

    private Deliveries deliveries(CamelContext camel, HikariDataSource dataSource, ObjectMapper objectMapper, Clock clock,
                                  CdrMetrics metrics, List<String> secrets) {
        return new Deliveries(dataSource, objectMapper, clock, new Deliveries.Settings(
                deliveryMaxAttempts,
                Durations.parse("delivery.max-age", deliveryMaxAge),
                Durations.parse("delivery.lease", deliveryLease),
                Durations.parse("delivery.backoff-initial", deliveryBackoffInitial),
                Durations.parse("delivery.backoff-max", deliveryBackoffMax),
                deliveryBatchSize, commitWaitBound()), metrics, secrets, camel::isStopping);
    }

    /** What each delivery's steps are handed: its stored notification, with E.164 numbers and our recording URL. */
    private StoredNotifications storedNotifications(HikariDataSource dataSource, TelecmiParser telecmiParser) {
        return new StoredNotifications(dataSource, telecmiParser, new PhoneNumbers(phoneDefaultRegion)::e164, publicBaseUrl);
    }

    private DeliveryComponent deliveryComponent(Deliveries deliveries, StoredNotifications notifications) {
        return new DeliveryComponent(deliveries, notifications, new DeliveryEndpoint.Defaults(
                deliveryConcurrency, deliveryPollIntervalMs, deliveries.maxAttempts(), deliveries.maxAge()));
    }

    /** Deliveries' completion writer, started before the routes that claim and complete them. */
    private static Service claiming(Deliveries deliveries) {
        return new ServiceSupport() {
            @Override
            protected void doStart() {
                deliveries.start();
            }

            @Override
            protected void doStop() {
                deliveries.stop();
            }
        };
    }

    private NotificationStore notificationStore(HikariDataSource dataSource, Deliveries deliveries, Clock clock) {
        NotificationStore store = new NotificationStore(dataSource, deliveries, clock, dbMaxBatch, commitWaitBound());
        if (deliveryYieldAbove < 0) {
            throw new IllegalArgumentException("delivery.yield-to-webhooks-above must be 0 (off) or more, not " + deliveryYieldAbove);
        }
        if (deliveryYieldAbove > 0) {
            deliveries.yieldWhile(store::waitingForCommit, deliveryYieldAbove, Durations.parse("delivery.yield-max", deliveryYieldMax));
        }
        return store;
    }

    private Retention retention(HikariDataSource dataSource, Clock clock, Path data) {
        Retention retention = new Retention(dataSource, clock, Durations.parse("retention.max-age", retentionMaxAge),
                recordingsDir(), data.resolve("outbox").toAbsolutePath());
        if (retention.keepsEverything()) {
            LOG.info("retention.max-age is 0: notifications, recordings and alert emails are kept for good");
        }
        return retention;
    }

    /** As given, or under the data folder ({@code {{data.dir}}/recordings}, {@code ./data/recordings} by default). */
    private Path recordingsDir() {
        return Path.of(recordingsDir).toAbsolutePath().normalize();
    }

    private Recordings recordings(HikariDataSource dataSource, CdrQueries cdrQueries, ObjectMapper objectMapper, Clock clock) {
        return new Recordings(dataSource, cdrQueries, objectMapper, new Recordings.Settings(
                recordingsDir(), telecmiAppid, telecmiSecret, recordingsMaxBytes,
                Durations.parse("recordings.download-timeout", recordingsDownloadTimeout),
                Durations.parse("delivery.lease", deliveryLease)), clock);
    }

    /** routes/telecmi-reconcile.camel.yaml's windows; its history is kept as long as notifications are. */
    private Reconciliation reconciliation(HikariDataSource dataSource, ObjectMapper objectMapper, Clock clock, CdrMetrics metrics,
                                          Deliveries deliveries) {
        String interval = reconcileInterval.isBlank() ? "0" : reconcileInterval;
        return new Reconciliation(dataSource, objectMapper, clock, metrics, new Reconciliation.Settings(telecmiAppid, telecmiSecret,
                Durations.parse("reconcile.interval", interval),
                Durations.parse("reconcile.overlap", reconcileOverlap),
                Durations.parse("reconcile.delay", reconcileDelay),
                Durations.parse("reconcile.initial-lookback", reconcileInitialLookback),
                reconcilePageSize,
                Durations.parse("reconcile.lease", reconcileLease),
                Durations.parse("retention.max-age", retentionMaxAge)), deliveries::redact);
    }

    private void configureSmtp(CamelContext camel, Path data) {
        if (!smtpUsername.isEmpty()) {
            // only when set: camel-mail authenticates whenever a username is present, even an empty one
            MailComponent smtp = camel.getComponent("smtp", MailComponent.class);
            smtp.getConfiguration().setUsername(smtpUsername);
            smtp.getConfiguration().setPassword(smtpPassword);
        }
        if (smtpHost.isEmpty()) {
            LOG.info("No mail.smtp.host set: alert emails are written as .eml files to {}", data.resolve("outbox").toAbsolutePath());
        }
    }

    private WebhookGate webhookGate(Tokens.Generated webhook, ProblemResponses problems, WebhookOutcomes outcomes) {
        return new WebhookGate(webhook.value(), webhookMaxBodyBytes, serverPort, allowedAppids, problems, outcomes);
    }

    private static ApiGuard apiGuard(Tokens.Generated api, HttpEdge edge) {
        ApiGuard apiGuard = new ApiGuard(api.value(), edge);
        edge.guardPublicRouter(apiGuard::guard);
        return apiGuard;
    }

    /** /ui/: the operations page's files, with their security headers on every answer under /ui. */
    private static OpsPage opsPage(HttpEdge edge) {
        OpsPage opsPage = new OpsPage();
        edge.guardPublicRouter(opsPage::secureHeaders);
        return opsPage;
    }

    private void logWhereGeneratedTokensAre(Tokens.Generated webhook, Tokens.Generated api, Path data) {
        // shown once, on the start that generated it; later starts reuse it silently
        // where it is, never what it is: logs are collected, copied and kept far longer than tokens stay secret
        if (webhook.isNew()) {
            LOG.info("Generated a webhook token, kept in {}. Point TeleCMI at {}://<this-host>:{}/webhooks/telecmi/<the token in that file>",
                    data.resolve("webhook-token").toAbsolutePath(), https ? "https" : "http", serverPort);
        }
        if (api.isNew()) {
            LOG.info("Generated an API token, kept in {}: send it as 'Authorization: Bearer <token>'", data.resolve("api-token"));
        }
    }

    private static <T> T bind(CamelContext camel, String id, T bean) {
        camel.getRegistry().bind(id, bean);
        return bean;
    }
}
