package io.github.telecmicdr.store;

import java.lang.management.ManagementFactory;
import java.util.UUID;

/**
 * The name a lease gives its holder (delivery.lease_owner, reconcile_state.lease_owner,
 * reconcile_window.instance, 64 characters each): this JVM's {@code pid@host} and 8 random
 * characters. A long host name (a Kubernetes pod's runs to 60 and more) keeps its end, where the
 * pod's own suffix is: whole, it would not fit, and every claim would fail.
 */
public final class LeaseOwner {

    /** What the lease columns hold. */
    static final int MAX = 64;

    private LeaseOwner() {
    }

    /** A new name for a holder in this JVM: each holder its own. */
    public static String next() {
        return of(ManagementFactory.getRuntimeMXBean().getName(), UUID.randomUUID().toString().substring(0, 8));
    }

    static String of(String jvmName, String random) {
        String suffix = "-" + random;
        int room = MAX - suffix.length();
        String name = jvmName.length() > room ? jvmName.substring(jvmName.length() - room) : jvmName;
        return name + suffix;
    }
}
