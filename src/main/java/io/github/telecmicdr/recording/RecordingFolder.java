package io.github.telecmicdr.recording;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.UUID;

/**
 * {@code recordings.dir}: the recordings by call date, and {@code .partial/} for downloads under
 * way. Recordings are call audio: every folder is created {@code 700} and every file {@code 600}
 * from the first byte (the permissions are given at creation, never changed afterwards, so there is
 * no moment another user could open them).
 */
final class RecordingFolder {

    private final Path root;
    private final Path partial;
    private final FileAttribute<?>[] ownerOnlyFolder;
    private final FileAttribute<?>[] ownerOnlyFile;

    RecordingFolder(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.partial = this.root.resolve(".partial");
        boolean posix = this.root.getFileSystem().supportedFileAttributeViews().contains("posix");
        this.ownerOnlyFolder = posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))}
                : new FileAttribute<?>[0];
        this.ownerOnlyFile = posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                : new FileAttribute<?>[0];
    }

    Path root() {
        return root;
    }

    /**
     * Creates the folders and removes what downloads cut off by a crash left in {@code .partial/}.
     * A partial file another instance sharing the folder is still writing is locked, and stays.
     *
     * @return how many leftovers were removed
     */
    int prepare() throws IOException {
        createFolders(partial);
        int removed = 0;
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(partial, "*.part")) {
            for (Path leftover : leftovers) {
                if (!beingWritten(leftover) && Files.deleteIfExists(leftover)) {
                    removed++;
                }
            }
        }
        return removed;
    }

    private static boolean beingWritten(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE); FileLock lock = channel.tryLock()) {
            return lock == null;
        } catch (OverlappingFileLockException e) {
            return true; // by this JVM
        } catch (IOException e) {
            return false; // gone already, or a file system without locks: nothing tells a live download apart
        }
    }

    void createFolders(Path folder) throws IOException {
        Files.createDirectories(folder, ownerOnlyFolder);
    }

    /** A new partial file for a download, and the channel to write it: owner-only, locked while written. */
    Partial newPartial(String cmiuuid) throws IOException {
        Path file = partial.resolve(cmiuuid + "-" + UUID.randomUUID() + ".part");
        FileChannel channel = FileChannel.open(file, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), ownerOnlyFile);
        try {
            // a lock that cannot be had (a file system without locks) only weakens the clean-up at start
            channel.tryLock();
        } catch (IOException e) {
            // written unlocked
        }
        return new Partial(file, channel);
    }

    /** A download's file while it is written; closing it releases the lock. */
    record Partial(Path file, FileChannel channel) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
