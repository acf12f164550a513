import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Posts answered CDRs at a fixed rate (open loop: the schedule does not wait for answers, so a slow
 * server shows in the latency instead of lowering the rate). Prints p50/p99 of the answers and, when
 * given a file, writes "cmiuuid ack_epoch_ms" for each acknowledged CDR.
 * Run: java bench/FixedRate.java URL RATE SECONDS HANGUP_REASON [ACK_FILE]
 */
public class FixedRate {
    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        String reason = args[3];
        Path ackFile = args.length > 4 ? Path.of(args[4]) : null;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newFixedThreadPool(8)).connectTimeout(Duration.ofSeconds(5)).build();
        ConcurrentLinkedQueue<Long> latenciesMicros = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> acks = new ConcurrentLinkedQueue<>();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger inFlight = new AtomicInteger();
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
        long periodNanos = 1_000_000_000L / rate;
        int total = rate * seconds;
        AtomicInteger sent = new AtomicInteger();
        String template = "{\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"cmiuuid\":\"%s\",\"user\":\"204_2222223\","
                + "\"status\":\"answered\",\"to\":440000000001,\"from\":440000000002,\"time\":1634720920615,\"answeredsec\":11,"
                + "\"team\":\"Sales_2222223\",\"hangup_reason\":\"%s\",\"record\":false,\"ivr_name\":\"salesivr\"}";
        clock.scheduleAtFixedRate(() -> {
            if (sent.incrementAndGet() > total) {
                return;
            }
            String id = UUID.randomUUID().toString();
            long start = System.nanoTime();
            inFlight.incrementAndGet();
            http.sendAsync(HttpRequest.newBuilder(uri).header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                            .POST(HttpRequest.BodyPublishers.ofString(String.format(template, id, reason))).build(),
                    HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                inFlight.decrementAndGet();
                if (e != null || r.statusCode() != 200) {
                    errors.incrementAndGet();
                    return;
                }
                latenciesMicros.add((System.nanoTime() - start) / 1000);
                acks.add(id + " " + System.currentTimeMillis());
            });
        }, 0, periodNanos, TimeUnit.NANOSECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 30L);
        while ((sent.get() < total || inFlight.get() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        clock.shutdownNow();
        List<Long> sorted = new ArrayList<>(latenciesMicros);
        Collections.sort(sorted);
        double p50 = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2) / 1000.0;
        double p99 = sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))) / 1000.0;
        System.out.printf("RESULT rate=%d seconds=%d ok=%d errors=%d p50_ms=%.2f p99_ms=%.2f%n", rate, seconds, sorted.size(), errors.get(), p50, p99);
        if (ackFile != null) {
            try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(ackFile))) {
                acks.forEach(out::println);
            }
        }
        System.exit(0);
    }
}
