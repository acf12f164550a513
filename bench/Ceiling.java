import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;

/**
 * The ceiling the service is measured against: a bare Vert.x HTTP server (the Vert.x Camel runs on,
 * from target/lib) that reads the JSON body, parses it and answers 200 — no routing, no database.
 * Run: java -cp 'target/lib/*' bench/Ceiling.java PORT
 */
public class Ceiling {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        ObjectMapper mapper = new ObjectMapper();
        Vertx vertx = Vertx.vertx();
        vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("127.0.0.1")).requestHandler(req ->
                req.body().onSuccess(body -> {
                    try {
                        JsonNode cdr = mapper.readTree(body.getBytes());
                        req.response().putHeader("Content-Type", "application/json")
                                .end("{\"status\":\"stored\",\"kind\":\"incoming-answered-cdr\",\"cmiuuid\":\"" + cdr.path("cmiuuid").asText() + "\"}");
                    } catch (Exception e) {
                        req.response().setStatusCode(400).end();
                    }
                })).listen().onSuccess(s -> System.out.println("ceiling listening on " + port));
    }
}
