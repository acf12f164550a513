package io.github.telecmicdr.routes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every route file a user (or Kaoto, or Camel's own tooling) opens validates against the Camel YAML
 * DSL schema shipped inside camel-yaml-dsl: a misspelt key, a string where a boolean belongs, or a
 * step Camel does not know fails here, not on the first start in production. The explanations are
 * {@code description:}s, not {@code #} comments: Kaoto drops comments when it saves a file.
 */
class RouteSchemaTest {

    private static final Path ROUTES = Path.of("routes");
    /** A comment line, or a comment after a value (a `#` inside a quoted value is not one). */
    private static final Pattern COMMENT = Pattern.compile("^\\s*#|\\s#(?=[^\"']*$)");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static JsonSchema schema;

    @BeforeAll
    static void loadTheSchemaFromTheCamelYamlDslJar() throws IOException {
        URL url = RouteSchemaTest.class.getClassLoader().getResource("schema/camelYamlDsl.json");
        assertNotNull(url, "schema/camelYamlDsl.json is not on the test classpath");
        // the schema of the camel-yaml-dsl this service runs, not a copy that could drift from it
        assertTrue(url.toString().contains("camel-yaml-dsl"), "the schema came from " + url);
        try (InputStream in = url.openStream()) {
            schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(in);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRouteFileValidatesAgainstTheCamelYamlDslSchema() throws IOException {
        List<Path> files = routeFiles();
        assertFalse(files.isEmpty(), "no route file under " + ROUTES.toAbsolutePath());
        return files.stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            Set<ValidationMessage> errors = schema.validate(YAML.readTree(file.toFile()));
            assertTrue(errors.isEmpty(), file + " does not follow the Camel YAML DSL schema:\n" + describe(errors));
        }));
    }

    @TestFactory
    Stream<DynamicTest> noRouteFileExplainsItselfInComments() throws IOException {
        return routeFiles().stream().map(file -> DynamicTest.dynamicTest(file.toString(), () -> {
            List<String> comments = Files.readAllLines(file).stream().filter(l -> COMMENT.matcher(l).find()).toList();
            assertEquals(List.of(), comments, file + ": put these in a description: (Kaoto drops comments on save)");
        }));
    }

    /** The test above would pass on a validator that accepts anything: a typo must fail. */
    @Test
    void aMisspeltKeyFails() throws IOException {
        Set<ValidationMessage> errors = schema.validate(YAML.readTree("""
                - route:
                    id: typo
                    from:
                      uri: timer:typo
                      stepz:
                        - log: hello
                """));
        assertFalse(errors.isEmpty(), "stepz: was accepted");
        assertTrue(describe(errors).contains("stepz"), describe(errors));
    }

    @Test
    void aBooleanWrittenAsAStringFails() throws IOException {
        Set<ValidationMessage> errors = schema.validate(YAML.readTree("""
                - route:
                    id: quoted-boolean
                    streamCache: "false"
                    from:
                      uri: timer:quoted
                      steps:
                        - log: hello
                """));
        assertFalse(errors.isEmpty(), "streamCache: \"false\" was accepted");
    }

    @Test
    void aDescriptionOnARouteAndOnAStepIsValid() throws IOException {
        Set<ValidationMessage> errors = schema.validate(YAML.readTree("""
                - route:
                    id: described
                    description: why this route exists
                    from:
                      uri: timer:described
                      description: why it starts here
                      steps:
                        - log:
                            description: why this step
                            message: hello
                """));
        assertTrue(errors.isEmpty(), describe(errors));
    }

    static List<Path> routeFiles() throws IOException {
        try (Stream<Path> walk = Files.walk(ROUTES)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(".camel.yaml")).sorted().toList();
        }
    }

    private static String describe(Set<ValidationMessage> errors) {
        return errors.stream().map(ValidationMessage::toString).sorted().collect(Collectors.joining("\n"));
    }
}
