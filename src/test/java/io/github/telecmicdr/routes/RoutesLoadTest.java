package io.github.telecmicdr.routes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.github.telecmicdr.CdrRouterConfiguration;
import io.github.telecmicdr.testing.RunningService;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.junit5.CamelContextConfiguration;
import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The route files as the service loads them (its application.properties, its routes-include-pattern,
 * its CdrRouterConfiguration), in Camel Main's test harness: every route starts, and every bean the
 * YAML names ({@code ref:}, {@code #name}) is bound, with the method it calls. A route file that
 * names a bean or a method the service does not have fails here, not in production.
 */
class RoutesLoadTest extends CamelMainTestSupport {

    /** The service's own settings, as {@code App.create()} reads them. */
    private static final String PROPERTIES = "application.properties";
    /** A bean method as YAML should call it: a plain name, its parameters bound by annotations. */
    private static final String PLAIN_METHOD = "[A-Za-z_$][A-Za-z0-9_$]*";

    @TempDir
    static Path data;

    @Override
    protected String getPropertyPlaceholderLocations() {
        return "file:" + PROPERTIES;
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.addConfiguration(CdrRouterConfiguration.class);
    }

    @Override
    public void configureContext(CamelContextConfiguration context) {
        super.configureContext(context);
        // a data folder and free ports of its own, as RunningService gives every service under test
        Properties overrides = new Properties();
        overrides.put("camel.server.port", String.valueOf(RunningService.freePort()));
        overrides.put("camel.management.port", String.valueOf(RunningService.freePort()));
        overrides.put("data.dir", data.toString());
        overrides.put("telecmi.webhook.token", RunningService.WEBHOOK_TOKEN);
        overrides.put("api.token", RunningService.API_TOKEN);
        String examples = exampleRoutes();
        if (examples != null) {
            overrides.put("camel.main.routes-include-pattern", servicePattern() + "," + examples);
        }
        context.withUseOverridePropertiesWithPropertiesComponent(overrides);
    }

    /**
     * Route files loaded besides the service's own, as a user adds them to the include pattern; null
     * for none. With none, the routes Camel runs are exactly those of routes/*.camel.yaml: the
     * examples under routes/examples/ are not loaded unless asked for.
     */
    protected String exampleRoutes() {
        return null;
    }

    private static String servicePattern() {
        Properties settings = new Properties();
        try (var in = Files.newBufferedReader(Path.of(PROPERTIES))) {
            settings.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return settings.getProperty("camel.main.routes-include-pattern");
    }

    @Test
    void everyRouteInTheRouteFilesStarts() throws IOException {
        Map<String, Path> declared = new TreeMap<>();
        for (Path file : loadedRouteFiles(context)) {
            for (JsonNode entry : yaml(file)) {
                JsonNode route = entry.get("route");
                if (route != null) {
                    assertTrue(route.hasNonNull("id"), file + ": a route without an id");
                    declared.put(route.get("id").asText(), file);
                }
            }
        }
        assertFalse(declared.isEmpty(), "no route was declared in " + loadedRouteFiles(context));
        Map<String, ServiceStatus> running = new TreeMap<>();
        for (Route route : context.getRoutes()) {
            running.put(route.getRouteId(), context.getRouteController().getRouteStatus(route.getRouteId()));
        }
        assertEquals(declared.keySet(), running.keySet(), "the routes Camel runs are the routes the files declare");
        running.forEach((id, status) -> assertEquals(ServiceStatus.Started, status, id + " in " + declared.get(id)));
    }

    @Test
    void everyBeanTheRouteFilesNameIsBoundWithTheMethodsTheyCall() throws IOException {
        List<String> problems = new ArrayList<>();
        Set<String> named = new TreeSet<>();
        for (Path file : loadedRouteFiles(context)) {
            walk(yaml(file), (field, node) -> {
                if (field.equals("ref") && node.isTextual()) {
                    named.add(node.asText());
                } else if (node.isTextual() && node.asText().startsWith("#") && !node.asText().startsWith("#class:")
                        && !node.asText().startsWith("#type:")) {
                    named.add(node.asText().replaceFirst("^#(bean:)?", ""));
                }
                if (field.equals("bean") && node.has("ref")) {
                    String ref = node.get("ref").asText();
                    String method = node.path("method").asText("");
                    Object bean = context.getRegistry().lookupByName(ref);
                    if (!method.isEmpty() && !method.matches(PLAIN_METHOD)) {
                        problems.add(file + ": " + ref + " is called as \"" + method + "\": a plain method name, its parameters bound"
                                + " with @Body/@Header/@Variable");
                    } else if (bean != null && !method.isEmpty() && Arrays.stream(bean.getClass().getMethods())
                            .map(Method::getName).noneMatch(method::equals)) {
                        problems.add(file + ": " + ref + " (" + bean.getClass().getSimpleName() + ") has no public method " + method);
                    }
                }
            });
        }
        for (String name : named) {
            if (context.getRegistry().lookupByName(name) == null) {
                problems.add("no bean bound as " + name);
            }
        }
        assertFalse(named.isEmpty(), "the route files name no bean: is this the right folder?");
        assertEquals(List.of(), problems);
    }

    /** The files Camel loaded: those camel.main.routes-include-pattern matches, as the service reads it. */
    private static List<Path> loadedRouteFiles(CamelContext context) throws IOException {
        String pattern = context.getPropertiesComponent().resolveProperty("camel.main.routes-include-pattern").orElseThrow();
        List<PathMatcher> matchers = Arrays.stream(pattern.split(","))
                .map(String::trim)
                .map(p -> {
                    assertTrue(p.startsWith("file:"), "routes are read from the working directory, not " + p);
                    return FileSystems.getDefault().getPathMatcher("glob:" + p.substring("file:".length()));
                })
                .toList();
        try (Stream<Path> files = Files.walk(Path.of("routes"))) {
            return files.filter(f -> matchers.stream().anyMatch(m -> m.matches(f))).sorted().collect(Collectors.toList());
        }
    }

    private static JsonNode yaml(Path file) {
        try {
            return new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every field of the tree with its value, depth first. */
    private static void walk(JsonNode node, BiConsumer<String, JsonNode> visit) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                visit.accept(e.getKey(), e.getValue());
                walk(e.getValue(), visit);
            });
        } else if (node.isArray()) {
            node.forEach(child -> {
                visit.accept("", child);
                walk(child, visit);
            });
        }
    }
}
