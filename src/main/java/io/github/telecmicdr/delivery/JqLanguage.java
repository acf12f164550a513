package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import net.thisptr.jackson.jq.BuiltinFunctionLoader;
import net.thisptr.jackson.jq.JsonQuery;
import net.thisptr.jackson.jq.Scope;
import net.thisptr.jackson.jq.Versions;
import net.thisptr.jackson.jq.exception.JsonQueryException;
import net.thisptr.jackson.jq.module.loaders.BuiltinModuleLoader;
import org.apache.camel.Exchange;
import org.apache.camel.Expression;
import org.apache.camel.ExpressionEvaluationException;
import org.apache.camel.ExpressionIllegalSyntaxException;
import org.apache.camel.support.ExpressionAdapter;
import org.apache.camel.support.SingleInputTypedLanguageSupport;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code jq} expression of Camel's DSL ({@code transform: jq: ...} in a route), by jackson-jq,
 * the engine camel-jq runs: a destination maps the call to a vendor's request in its route file,
 * where the user edits it (routes/examples/hubspot-calls.camel.yaml).
 *
 * <p>Found by Camel as camel-jq's own class is, through
 * {@code META-INF/services/org/apache/camel/language/jq}, because camel-jq 4.18.0 is not served by
 * the registry this project builds from. Once it is, add camel-jq to the pom and delete this class
 * and that file: the routes stay as they are. What camel-jq adds beyond jq (its {@code header()},
 * {@code property()} functions) is not here.
 *
 * <p>The input is the body (or the DSL's {@code source}) as JSON, converted the way Camel converts
 * anything to {@link JsonNode} (camel-jackson: a {@code Map}, text, bytes); the result is one
 * {@link JsonNode}, or a list of them when the expression yields several, or null for none.
 */
public final class JqLanguage extends SingleInputTypedLanguageSupport {

    private Scope rootScope;

    @Override
    public Expression createExpression(Expression source, String expression, Object[] properties) {
        JsonQuery query;
        try {
            query = JsonQuery.compile(expression, Versions.JQ_1_6);
        } catch (JsonQueryException e) {
            // a typo in the route file fails at start, naming the expression
            throw new ExpressionIllegalSyntaxException(expression, e);
        }
        Scope scope = Scope.newChildScope(rootScope());
        return new ExpressionAdapter() {
            @Override
            public Object evaluate(Exchange exchange) {
                JsonNode input = exchange.getContext().getTypeConverter().convertTo(JsonNode.class, exchange, source.evaluate(exchange, Object.class));
                if (input == null) {
                    throw new ExpressionEvaluationException(this, exchange, new IllegalArgumentException("the input of jq is not JSON"));
                }
                List<JsonNode> outputs = new ArrayList<>(1);
                try {
                    query.apply(scope, input, outputs::add);
                } catch (JsonQueryException e) {
                    throw new ExpressionEvaluationException(this, exchange, e);
                }
                return switch (outputs.size()) {
                    case 0 -> null;
                    case 1 -> outputs.get(0);
                    default -> outputs;
                };
            }

            @Override
            public String toString() {
                return "jq: " + expression;
            }
        };
    }

    private synchronized Scope rootScope() {
        if (rootScope == null) {
            // jq's builtins (map, select, with_entries, ...), loaded once for every expression
            rootScope = Scope.newEmptyScope();
            BuiltinFunctionLoader.getInstance().loadFunctions(Versions.JQ_1_6, rootScope);
            rootScope.setModuleLoader(BuiltinModuleLoader.getInstance());
        }
        return rootScope;
    }
}
