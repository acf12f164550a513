package io.github.telecmicdr;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The data folder holds the database, the generated tokens, recordings and alert emails: only the
 * service's own user may read it. The folder is {@code 700} before anything is put in it, and
 * every file the service writes there is {@code 600} from the moment it exists.
 */
public final class DataFolder {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DataFolder.class);

    public static final Set<PosixFilePermission> OWNER_ONLY_FOLDER = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

    private DataFolder() {
    }

    /** Creates the folder (and missing parents) owner-only; an existing one is made owner-only. */
    public static void prepare(Path dir) {
        try {
            if (Files.isDirectory(dir)) {
                restrict(dir, OWNER_ONLY_FOLDER);
            } else {
                createFolders(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare the data folder " + dir, e);
        }
    }

    /** Like {@link Files#createDirectories}, each folder it creates owner-only from the start. */
    public static void createFolders(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            return;
        }
        Path parent = absolute.getParent();
        if (parent != null) {
            createFolders(parent);
        }
        try {
            Files.createDirectory(absolute, attribute(OWNER_ONLY_FOLDER));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(absolute)) {
                throw e;
            }
        }
    }

    /** Writes the file whole (temporary file, then rename), owner-only from the start. */
    public static void writePrivate(Path file, byte[] content) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.createFile(temp, attribute(OWNER_ONLY_FILE));
            try (OutputStream out = Files.newOutputStream(temp)) {
                out.write(content);
            }
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Makes what others created directly in the folder owner-only: the database files H2 opened
     * with the process's umask. (The folder itself is 700, so they were never readable by others.)
     */
    public static void restrictContents(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                restrict(p, Files.isDirectory(p) ? OWNER_ONLY_FOLDER : OWNER_ONLY_FILE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot restrict the permissions in " + dir, e);
        }
    }

    /**
     * What the service's user does not own (a mount point's root, its lost+found) stays as it is,
     * with a warning: refusing to start over it would help nobody.
     */
    private static void restrict(Path p, Set<PosixFilePermission> permissions) throws IOException {
        if (!supportsPosix(p) || Files.getPosixFilePermissions(p).equals(permissions)) {
            return;
        }
        try {
            Files.setPosixFilePermissions(p, permissions);
        } catch (java.nio.file.FileSystemException e) {
            LOG.warn("Could not make {} readable by its owner only ({}): check who owns it", p, e.getReason() != null ? e.getReason() : e);
        }
    }

    private static FileAttribute<?>[] attribute(Set<PosixFilePermission> permissions) {
        return supportsPosix(Path.of("")) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)} : new FileAttribute<?>[0];
    }

    private static boolean supportsPosix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
