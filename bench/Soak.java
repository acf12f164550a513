import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The soak load: a steady rate of deliveries for a while, 70% new answered CDRs (half of them
 * alerted, half recorded), 20% repeats, 10% invalid; heap and RSS sampled every 30 s; at the end it
 * waits for the deliveries to drain and prints what was acknowledged against what was stored and
 * done. Run by bench/soak: java bench/Soak.java BASE MGMT_BASE PID RATE SECONDS
 */
public class Soak {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newFixedThreadPool(8)).connectTimeout(Duration.ofSeconds(5)).build();

    public static void main(String[] args) throws Exception {
        String base = args[0];
        String management = args[1];
        long pid = Long.parseLong(args[2]);
        int rate = Integer.parseInt(args[3]);
        int seconds = Integer.parseInt(args[4]);
        Random random = new Random(7);
        List<String> stored = new CopyOnWriteArrayList<>();
        Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
        AtomicInteger acknowledgedNew = new AtomicInteger();
        AtomicInteger planned = new AtomicInteger();
        ScheduledExecutorService clock = Executors.newScheduledThreadPool(2);
        List<String> samples = new ArrayList<>();
        samples.add(sample(management, pid, 0));
        long started = System.nanoTime();
        clock.scheduleAtFixedRate(() -> {
            double dice = random.nextDouble();
            String body;
            String kind;
            boolean alert = random.nextBoolean();
            boolean record = !alert || random.nextBoolean();
            if (dice < 0.7 || stored.isEmpty()) {
                String id = UUID.randomUUID().toString();
                body = "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                        + "\"from\":" + (440_000_000_000L + random.nextInt(1_000_000)) + ",\"to\":440000000001,\"answeredsec\":11,\"time\":1634720920615,\"team\":\"Sales\","
                        + "\"hangup_reason\":\"" + (alert ? "recv_cancel" : "recv_bye") + "\",\"record\":" + record
                        + ",\"filename\":\"" + id + ".wav\"}";
                kind = "new";
            } else if (dice < 0.9) {
                body = "{\"cmiuuid\":\"" + stored.get(random.nextInt(stored.size())) + "\",\"status\":\"answered\"}";
                kind = "repeat";
            } else {
                body = random.nextBoolean() ? "{\"status\":\"answered\"" : "{\"cmiuuid\":\"has space\"}";
                kind = "invalid";
            }
            final String k = kind;
            final int plans = (alert ? 1 : 0) + (record ? 1 : 0);
            HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base)).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                String outcome = e != null ? "error " + e.getClass().getSimpleName() : r.statusCode() + " " + k;
                answers.computeIfAbsent(outcome, x -> new AtomicInteger()).incrementAndGet();
                if (e == null && r.statusCode() == 200 && r.body().contains("\"stored\"") && k.equals("new")) {
                    acknowledgedNew.incrementAndGet();
                    planned.addAndGet(plans);
                    Matcher m = Pattern.compile("\"cmiuuid\":\"([^\"]+)\"").matcher(r.body());
                    if (m.find()) {
                        stored.add(m.group(1));
                    }
                }
            });
        }, 0, 1_000_000_000L / rate, TimeUnit.NANOSECONDS);
        for (int s = 30; s <= seconds; s += 30) {
            Thread.sleep(30_000);
            samples.add(sample(management, pid, s));
        }
        Thread.sleep(Math.max(0, seconds * 1000L - (System.nanoTime() - started) / 1_000_000));
        clock.shutdownNow();
        Thread.sleep(2000);
        System.out.println("heap and RSS over the run (MB):");
        samples.forEach(x -> System.out.println("  " + x));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String metrics = get(management + "/observe/metrics");
        // until nothing is left to do and the done and failed counts (counted again less often than
        // the backlog, README: Metrics) account for every planned delivery; NaN is not 0
        while (System.nanoTime() < deadline && !(gauge(metrics, "cdr_router_delivery_backlog") == 0
                && finished(metrics) >= planned.get())) {
            Thread.sleep(1000);
            metrics = get(management + "/observe/metrics");
        }
        System.out.println("answers: " + new TreeMap<>(answers));
        long storedCount = (long) counter(metrics, "cdr_router_notifications_total\\{kind=\"incoming-answered-cdr\",outcome=\"stored\"");
        System.out.printf("acknowledged new CDRs: %d, stored by the service: %d%n", acknowledgedNew.get(), storedCount);
        int missing = 0;
        for (int i = 0; i < Math.min(500, stored.size()); i++) {
            String id = stored.get(random.nextInt(stored.size()));
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base.replaceAll("/webhooks/.*", "/api/cdrs/" + id)))
                    .header("Authorization", "Bearer soak-api").GET().build(), HttpResponse.BodyHandlers.ofString());
            missing += r.statusCode() == 200 ? 0 : 1;
        }
        System.out.printf("spot check: %d of %d acknowledged CDRs read back missing%n", missing, Math.min(500, stored.size()));
        double done = gauge(metrics, "cdr_router_deliveries{kind=\"alert-email\",state=\"done\"}")
                + gauge(metrics, "cdr_router_deliveries{kind=\"recording-download\",state=\"done\"}");
        double failed = gauge(metrics, "cdr_router_deliveries{kind=\"alert-email\",state=\"failed\"}")
                + gauge(metrics, "cdr_router_deliveries{kind=\"recording-download\",state=\"failed\"}");
        System.out.printf("deliveries planned: %d, done: %.0f, failed: %.0f, backlog: %.0f%n", planned.get(), done, failed,
                gauge(metrics, "cdr_router_delivery_backlog"));
        for (String line : metrics.split("\n")) {
            if (line.startsWith("cdr_router_delivery_duration_seconds_count") || line.startsWith("cdr_router_notifications_total")) {
                System.out.println("  " + line);
            }
        }
        System.exit(0);
    }

    static String sample(String management, long pid, int at) throws Exception {
        String metrics = get(management + "/observe/metrics");
        double heap = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                heap += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        long rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", "")) / 1024;
            }
        }
        return String.format("t=%4ds heap=%4.0f rss=%4d", at, heap / 1048576, rss);
    }

    static String get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Sum of the series whose line starts with the given prefix (regex). */
    static double counter(String metrics, String prefix) {
        double sum = 0;
        Pattern p = Pattern.compile("^" + prefix + ".* ([0-9.eE+-]+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(metrics);
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    /** Alert and recording deliveries done or failed for good. */
    static double finished(String metrics) {
        return gauge(metrics, "cdr_router_deliveries{kind=\"alert-email\",state=\"done\"}")
                + gauge(metrics, "cdr_router_deliveries{kind=\"recording-download\",state=\"done\"}")
                + gauge(metrics, "cdr_router_deliveries{kind=\"alert-email\",state=\"failed\"}")
                + gauge(metrics, "cdr_router_deliveries{kind=\"recording-download\",state=\"failed\"}");
    }

    static double gauge(String metrics, String series) {
        double sum = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
