package io.github.telecmicdr.recording;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A stored recording, or one byte range of it, as Camel writes it to a client. Camel reads it into
 * the connection as the client takes the bytes, and closes it after the last one; a client that
 * leaves mid-answer leaves Camel waiting for room on a closed connection, so the file would stay
 * open until the garbage collector finds it. {@link #abandon} closes it at once instead, and from
 * then on it reads as ended, so a copy under way finishes quietly.
 */
final class ServedRecording extends InputStream {

    private final FileChannel channel;
    private final InputStream in;
    private long remaining;
    private volatile boolean abandoned;

    ServedRecording(Path file, long offset, long length) throws IOException {
        channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            channel.position(offset);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        in = Channels.newInputStream(channel);
        remaining = length;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (remaining <= 0 || abandoned) {
            return -1;
        }
        int n;
        try {
            n = in.read(b, off, (int) Math.min(len, remaining));
        } catch (IOException e) {
            if (abandoned) {
                return -1; // closed under the read by abandon()
            }
            throw e;
        }
        if (n > 0) {
            remaining -= n;
        }
        return n;
    }

    /** The client is gone: close the file now. */
    void abandon() {
        abandoned = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
