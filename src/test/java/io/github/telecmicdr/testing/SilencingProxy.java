package io.github.telecmicdr.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy to a server on this machine that can make the connections it holds go silent: from
 * {@link #silenceOpenConnections} on, nothing more of theirs is passed on either way and nothing is
 * closed, as when a network drops a connection without a word (a host that lost power, a NAT that
 * forgot it). Connections opened after that are passed on as usual.
 */
public final class SilencingProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private final List<Link> links = new CopyOnWriteArrayList<>();

    public SilencingProxy(int targetPort) throws IOException {
        this.target = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "silencing-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Every connection open now stops passing bytes, for good; how many there were. */
    public int silenceOpenConnections() {
        int n = 0;
        for (Link link : links) {
            if (!link.silent) {
                link.silent = true;
                n++;
            }
        }
        return n;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                Link link = new Link(client, upstream);
                links.add(link);
                pump(link, client, upstream);
                pump(link, upstream, client);
            } catch (IOException e) {
                // closed, or the server behind it is away: the client sees its connection fail
            }
        }
    }

    private static void pump(Link link, Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (link.silent) {
                        // swallowed, and nothing is closed: the other side waits for an answer that never comes
                        continue;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                if (!link.silent) {
                    link.close();
                }
            }
        }, "silencing-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        links.forEach(Link::close);
    }

    private static final class Link {
        final Socket a;
        final Socket b;
        volatile boolean silent;

        Link(Socket a, Socket b) {
            this.a = a;
            this.b = b;
        }

        void close() {
            for (Socket s : new Socket[] {a, b}) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }
    }
}
