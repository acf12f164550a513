package io.github.telecmicdr.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar target/telecmi-cdr-router.jar} as a child process, from the repository root,
 * configured only through environment variables, as an operator would run it. Its output goes to a
 * file the test can read.
 */
public final class ChildService implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final int port;
    private final int managementPort;

    private ChildService(Process process, Path log, int port, int managementPort) {
        this.process = process;
        this.log = log;
        this.port = port;
        this.managementPort = managementPort;
    }

    /** Starts the jar with these environment variables added, and waits until it answers. */
    public static ChildService start(Map<String, String> env, String... jvmArgs) {
        Path jar = Path.of("target/telecmi-cdr-router.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException("run `mvn package` first: " + jar + " is missing");
        }
        int port = RunningService.freePort();
        int managementPort = RunningService.freePort();
        Map<String, String> all = new HashMap<>(env);
        all.put("CAMEL_SERVER_PORT", String.valueOf(port));
        all.put("CAMEL_MANAGEMENT_PORT", String.valueOf(managementPort));
        return start(all, port, managementPort, jvmArgs);
    }

    /** Starts again on the same ports and environment, e.g. after a kill. */
    public ChildService restart(Map<String, String> env, String... jvmArgs) {
        Map<String, String> all = new HashMap<>(env);
        all.put("CAMEL_SERVER_PORT", String.valueOf(port));
        all.put("CAMEL_MANAGEMENT_PORT", String.valueOf(managementPort));
        return start(all, port, managementPort, jvmArgs);
    }

    private static ChildService start(Map<String, String> env, int port, int managementPort, String... jvmArgs) {
        try {
            Path log = Files.createTempFile("cdr-router-child", ".log");
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(List.of(jvmArgs));
            command.add("-jar");
            command.add("target/telecmi-cdr-router.jar");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            ChildService child = new ChildService(pb.start(), log, port, managementPort);
            child.awaitHealthy();
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitHealthy() {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the service exited with " + process.exitValue() + ":\n" + output());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/observe/health"))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            RunningService.sleep(100);
        }
        throw new IllegalStateException("the service did not become healthy:\n" + output());
    }

    public int port() {
        return port;
    }

    public int managementPort() {
        return managementPort;
    }

    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGKILL: no shutdown hook, no flush, nothing the JVM can do about it. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                System.out.println("the service on port " + port + " did not stop within 60 s of SIGTERM: killed");
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
