package io.github.telecmicdr.testing;

import org.h2.store.fs.FileBase;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A disk that can fill up, and that a power cut leaves as it was at the last force ({@code fsync}):
 * what was written after it is lost. H2 opens a database on it as {@code jdbc:h2:faulty:file:<path>};
 * every write goes through to the real file, and each force of a file also copies it, as it then
 * is, to {@code <file>.forced}: the file a power cut right now would leave ({@link #afterPowerCut}).
 * While {@link #fill full}, every write fails as on a full disk; while {@link #failForces}, every force.
 */
public final class FaultyDisk extends FilePathWrapper {

    private static final String SCHEME = "faulty";
    /** One lock per real file: a force copies the file with no write half-way through. */
    private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();
    private static volatile boolean registered;
    private static volatile boolean full;
    private static volatile boolean forcesFail;

    /** H2 makes one of these for each path it opens (by reflection, so public). */
    public FaultyDisk() {
    }

    /** The JDBC URL of an H2 database at {@code database} (no extension) on this disk. */
    public static synchronized String url(Path database) {
        if (!registered) {
            FilePath.register(new FaultyDisk());
            registered = true;
        }
        return "jdbc:h2:" + SCHEME + ":file:" + database.toAbsolutePath();
    }

    /**
     * Copies the database as a power cut now would leave it to {@code to} (no extension, as for
     * {@link #url}); nothing when its file was never forced (a power cut would leave no database).
     */
    public static void afterPowerCut(Path database, Path to) throws IOException {
        Path file = Path.of(database.toAbsolutePath() + ".mv.db");
        synchronized (lockOf(file)) {
            Path forced = forcedCopy(file);
            if (Files.exists(forced)) {
                Files.copy(forced, Path.of(to.toAbsolutePath() + ".mv.db"), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Every write fails from now on, as on a full disk (true), or goes through again (false). */
    public static void fill(boolean isFull) {
        full = isFull;
    }

    /** Every force fails from now on, as on a disk that reports an I/O error (true), or works again (false). */
    public static void failForces(boolean fail) {
        forcesFail = fail;
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        String name = getBase().toString();
        Path file = Path.of(name.startsWith("file:") ? name.substring("file:".length()) : name).toAbsolutePath();
        return new Channel(getBase().open(mode), file);
    }

    private static Object lockOf(Path file) {
        return LOCKS.computeIfAbsent(file, f -> new Object());
    }

    private static Path forcedCopy(Path file) {
        return Path.of(file + ".forced");
    }

    /** The real file's channel, with writes and forces under the file's lock. */
    private static final class Channel extends FileBase {
        private final FileChannel real;
        private final Path file;
        private final Object lock;

        Channel(FileChannel real, Path file) {
            this.real = real;
            this.file = file;
            this.lock = lockOf(file);
        }

        @Override
        public void force(boolean metaData) throws IOException {
            synchronized (lock) {
                if (forcesFail) {
                    throw new IOException("Input/output error");
                }
                real.force(metaData);
                Files.copy(file, forcedCopy(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            synchronized (lock) {
                refuseWhenFull();
                return real.write(src, position);
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            synchronized (lock) {
                refuseWhenFull();
                return real.write(src);
            }
        }

        private static void refuseWhenFull() throws IOException {
            if (full) {
                throw new IOException("No space left on device");
            }
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            synchronized (lock) {
                real.truncate(size);
            }
            return this;
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return real.read(dst);
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            real.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
        }
    }
}
