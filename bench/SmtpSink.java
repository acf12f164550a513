import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local SMTP server for the benchmark that accepts every message and appends
 * "<cmiuuid> <receive_epoch_ms>" per alert (from its Message-ID) to a file. A thread per
 * connection, so it is not what limits the measurement.
 * Run: java bench/SmtpSink.java PORT FILE
 */
public class SmtpSink {
    static final Pattern MESSAGE_ID = Pattern.compile("^Message-ID: <([A-Za-z0-9-]+)\\.alert@", Pattern.CASE_INSENSITIVE);

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        PrintWriter out = new PrintWriter(Files.newBufferedWriter(Path.of(args[1]), StandardOpenOption.CREATE, StandardOpenOption.APPEND), true);
        ExecutorService pool = Executors.newCachedThreadPool();
        try (ServerSocket server = new ServerSocket(port, 1024, InetAddress.getLoopbackAddress())) {
            System.out.println("smtp sink on " + port);
            while (true) {
                Socket socket = server.accept();
                pool.submit(() -> serve(socket, out));
            }
        }
    }

    static void serve(Socket socket, PrintWriter log) {
        try (socket; BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1))) {
            OutputStream out = socket.getOutputStream();
            reply(out, "220 sink ESMTP");
            String line;
            while ((line = in.readLine()) != null) {
                String command = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
                switch (command) {
                    case "EHLO", "HELO" -> reply(out, "250 sink");
                    case "DATA" -> {
                        reply(out, "354 go ahead");
                        String id = null;
                        while ((line = in.readLine()) != null && !line.equals(".")) {
                            Matcher m = MESSAGE_ID.matcher(line);
                            if (id == null && m.find()) {
                                id = m.group(1);
                            }
                        }
                        if (id != null) {
                            synchronized (log) {
                                log.println(id + " " + System.currentTimeMillis());
                            }
                        }
                        reply(out, "250 queued");
                    }
                    case "QUIT" -> {
                        reply(out, "221 bye");
                        return;
                    }
                    default -> reply(out, "250 ok");
                }
            }
        } catch (Exception e) {
            // the client went away
        }
    }

    static void reply(OutputStream out, String line) throws java.io.IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }
}
