import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The durable ceiling: Ceiling.java plus the one thing a durable acknowledgement cannot skip. Each
 * request's JSON is parsed, then appended to a journal file that is forced to disk
 * (FileChannel.force) before the request is answered. Group commit: one writer thread takes every
 * request waiting, writes them all, forces once, then answers each; while it forces, the next group
 * gathers. No routing, no database, no index: the fastest a durable 200 can be on this machine.
 * Run: java -cp 'target/lib/*' bench/DurableCeiling.java PORT JOURNAL_FILE
 */
public class DurableCeiling {
    /** A parsed request waiting for its journal line to be on disk. */
    record Waiting(byte[] line, String cmiuuid, HttpServerResponse response, Context context) {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        FileChannel journal = FileChannel.open(Path.of(args[1]),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        BlockingQueue<Waiting> waiting = new LinkedBlockingQueue<>();
        Thread writer = new Thread(() -> writeGroups(journal, waiting), "journal-writer");
        writer.setDaemon(true);
        writer.start();

        ObjectMapper mapper = new ObjectMapper();
        Vertx vertx = Vertx.vertx();
        vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("127.0.0.1")).requestHandler(req ->
                req.body().onSuccess(body -> {
                    try {
                        String cmiuuid = mapper.readTree(body.getBytes()).path("cmiuuid").asText();
                        // one line per request (the body and a newline): never read back, it stands for
                        // the bytes a durable store must have on disk before it answers
                        byte[] line = body.appendByte((byte) '\n').getBytes();
                        waiting.add(new Waiting(line, cmiuuid, req.response(), Vertx.currentContext()));
                    } catch (Exception e) {
                        req.response().setStatusCode(400).end();
                    }
                })).listen().onSuccess(s -> System.out.println("durable ceiling listening on " + port));
    }

    /** The writer thread: a group is everything waiting when the previous force returned. */
    static void writeGroups(FileChannel journal, BlockingQueue<Waiting> waiting) {
        List<Waiting> group = new ArrayList<>();
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        while (true) {
            try {
                group.add(waiting.take());
            } catch (InterruptedException e) {
                return;
            }
            waiting.drainTo(group);
            int size = group.stream().mapToInt(w -> w.line().length).sum();
            if (buffer.capacity() < size) {
                buffer = ByteBuffer.allocate(size);
            }
            buffer.clear();
            for (Waiting w : group) {
                buffer.put(w.line());
            }
            buffer.flip();
            int status = 200;
            try {
                while (buffer.hasRemaining()) {
                    journal.write(buffer);
                }
                journal.force(false);
            } catch (IOException e) {
                status = 503;
            }
            for (Waiting w : group) {
                int answer = status;
                // answered on the request's own event loop, as Vert.x expects
                w.context().runOnContext(v -> {
                    if (answer == 200) {
                        w.response().putHeader("Content-Type", "application/json")
                                .end("{\"status\":\"stored\",\"kind\":\"incoming-answered-cdr\",\"cmiuuid\":\"" + w.cmiuuid() + "\"}");
                    } else {
                        w.response().setStatusCode(answer).end();
                    }
                });
            }
            group.clear();
        }
    }
}
