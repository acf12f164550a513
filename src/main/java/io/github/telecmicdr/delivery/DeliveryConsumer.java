package io.github.telecmicdr.delivery;

import io.github.telecmicdr.store.StoredNotifications;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.ShutdownRunningTask;
import org.apache.camel.spi.ShutdownAware;
import org.apache.camel.support.DefaultConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Claims due deliveries of its kind whenever it has a free worker, and runs each through the route,
 * with the stored notification as the body and the delivery as the variable {@code delivery}:
 * done when the route's steps succeed, retried with backoff when they throw, failed on a
 * {@link PermanentFailure} or after the kind's attempts or age. At most {@code concurrency}
 * deliveries are in hand at once, so a slow destination is worked in parallel, and nothing is
 * claimed that no worker is free for (a claim is a lease: what a crash leaves leased waits it out).
 * A stop claims nothing more and waits for the deliveries in hand to be recorded.
 */
final class DeliveryConsumer extends DefaultConsumer implements ShutdownAware {

    private static final Logger LOG = LoggerFactory.getLogger(DeliveryConsumer.class);
    /**
     * Under load, how long a claim waits for more workers to come free: a claim is a commit, and one
     * claim for several workers costs the database what one for a single worker does (bench/README.md).
     */
    static final long GATHER_MS = 5;
    /** While webhooks queue, a kind starts at most one delivery this often: ≤ 50 a second. */
    static final long YIELD_SPACING_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final DeliveryEndpoint endpoint;
    private final Deliveries deliveries;
    private final StoredNotifications notifications;
    private final String kind;
    private volatile boolean running;
    /** Counted down when the consumer stops: the claim loop's waits end at once instead of after a poll interval. */
    private volatile CountDownLatch stopping = new CountDownLatch(1);
    private Semaphore free;
    private ExecutorService claimer;
    private ExecutorService workers;
    private int concurrency;
    private long pollMs;
    private int maxAttempts;
    private Duration maxAge;

    DeliveryConsumer(DeliveryEndpoint endpoint, Processor processor, Deliveries deliveries, StoredNotifications notifications) {
        super(endpoint, processor);
        this.endpoint = endpoint;
        this.deliveries = deliveries;
        this.notifications = notifications;
        this.kind = endpoint.getKind();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        // read and checked here, so a bad setting stops the start instead of a claim loop, silently
        concurrency = endpoint.getConcurrency();
        pollMs = endpoint.getPollIntervalMs();
        maxAttempts = endpoint.getMaxAttempts();
        maxAge = endpoint.getMaxAgeDuration();
        if (concurrency < 1 || pollMs < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("delivery:" + kind + ": concurrency, poll-interval-ms and max-attempts must be at least 1,"
                    + " not " + concurrency + ", " + pollMs + ", " + maxAttempts);
        }
        free = new Semaphore(concurrency);
        var threads = getEndpoint().getCamelContext().getExecutorServiceManager();
        workers = threads.newFixedThreadPool(this, "delivery-" + kind, concurrency);
        claimer = threads.newSingleThreadExecutor(this, "delivery-" + kind + "-claims");
        deliveries.working(kind);
        stopping = new CountDownLatch(1);
        running = true;
        claimer.execute(this::claimLoop);
    }

    /**
     * Waits for a free worker, claims as many due deliveries as there are free workers, hands them
     * out. While the last claim found work and some workers are still busy, it first waits
     * {@link #GATHER_MS} for more of them to come free. While webhooks are queuing for the database
     * ({@link Deliveries#webhooksQueuing}), it works one delivery at a time, at most one every
     * 20 ms.
     */
    private void claimLoop() {
        boolean underLoad = false;
        long lastClaimed = System.nanoTime() - YIELD_SPACING_NANOS;
        while (running) {
            try {
                if (!free.tryAcquire(pollMs, TimeUnit.MILLISECONDS)) {
                    continue;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            boolean yielding = deliveries.webhooksQueuing();
            if (yielding && (concurrency - free.availablePermits() > 1 || System.nanoTime() - lastClaimed < YIELD_SPACING_NANOS)) {
                // webhooks are queuing for the database: one delivery of this kind at a time, at most
                // one every YIELD_SPACING, so that their acknowledgements get the CPU; the rest
                // waits, planned and durable, and is worked at full concurrency once they are answered
                free.release();
                waitQuietly(Math.min(GATHER_MS, pollMs));
                continue;
            }
            int slots = 1 + (yielding ? 0 : free.drainPermits());
            if (!yielding && underLoad && slots < concurrency) {
                waitQuietly(Math.min(GATHER_MS, pollMs));
                slots += free.drainPermits();
            }
            List<Delivery> claimed = List.of();
            try {
                claimed = running ? deliveries.claim(kind, slots) : List.of();
            } catch (Exception e) {
                // the database is away: nothing was claimed; tried again after the poll interval
                LOG.warn("Could not claim {} deliveries: {}", kind, e.getMessage());
            } catch (Error e) {
                // this loop is the kind's only claimer: were it to end, nothing of the kind would be sent
                // again; an OutOfMemoryError ends the JVM first (-XX:+ExitOnOutOfMemoryError, README)
                LOG.error("Could not claim {} deliveries; tried again after the poll interval", kind, e);
            } finally {
                free.release(slots - claimed.size());
            }
            for (Delivery delivery : claimed) {
                try {
                    workers.execute(() -> work(delivery));
                } catch (RuntimeException e) {
                    // stopping: the delivery's lease expires and it is taken again
                    free.release();
                    LOG.warn("Delivery {} not started ({}); it is taken again when its lease expires", delivery.id(), e.toString());
                }
            }
            underLoad = !claimed.isEmpty();
            if (underLoad) {
                lastClaimed = System.nanoTime();
            }
            if (claimed.isEmpty()) {
                // nothing is due (or the database is away): look again after the poll interval
                waitQuietly(pollMs);
            }
        }
    }

    private void work(Delivery claimed) {
        Exchange exchange = createExchange(false);
        Delivery delivery = claimed;
        try {
            try {
                Map<String, Object> notification = notifications.call(claimed.notificationId());
                if (notification == null) {
                    throw new PermanentFailure("its notification " + claimed.notificationId() + " is no longer stored");
                }
                delivery = claimed.of((String) notification.get("kind"));
                exchange.setVariable("delivery", delivery);
                exchange.getMessage().setBody(notification);
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            }
            Throwable failure = failure(exchange);
            try {
                if (failure == null) {
                    deliveries.complete(delivery);
                } else {
                    deliveries.fail(delivery, failure, maxAttempts, maxAge);
                }
            } catch (Exception e) {
                // the lease expires and the delivery is claimed again: nothing is lost
                LOG.warn("Could not record the outcome of delivery {} {} ({}; the attempt: {}); it is taken again when its lease expires",
                        delivery.id(), kind, e.getMessage(), failure == null ? "done" : deliveries.describe(failure));
            }
        } finally {
            releaseExchange(exchange, false);
            free.release();
        }
    }

    /**
     * Why the attempt failed, or null when it succeeded. A route that handles its own exception
     * (an onException with handled: true) or marks the exchange rollback-only has failed too: its
     * delivery is retried, never recorded as done.
     */
    private static Throwable failure(Exchange exchange) {
        if (exchange.getException() != null) {
            return exchange.getException();
        }
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (caught != null && exchange.getExchangeExtension().isErrorHandlerHandled()) {
            return caught;
        }
        if (exchange.isRollbackOnly() || exchange.isRollbackOnlyLast()) {
            return new IllegalStateException("the route marked the exchange rollback-only");
        }
        return null;
    }

    /** Camel's graceful shutdown waits for the deliveries in hand (see getPendingExchangesSize) before it stops this. */
    @Override
    public boolean deferShutdown(ShutdownRunningTask shutdownRunningTask) {
        return true;
    }

    /** Deliveries claimed and not yet recorded done or retried. */
    @Override
    public int getPendingExchangesSize() {
        return free == null ? 0 : concurrency - free.availablePermits();
    }

    /** No more claims: the shutdown waits for the deliveries in hand, within camel.main.shutdown-timeout. */
    @Override
    public void prepareShutdown(boolean suspendOnly, boolean forced) {
        running = false;
        stopping.countDown();
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        stopping.countDown();
        if (claimer != null) {
            // not interrupted: a thread interrupted inside H2's file I/O closes the database file;
            // the loop sees running=false within a poll interval
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(claimer);
        }
        if (workers != null) {
            // the deliveries in hand finish and are recorded (done or retried) before the database closes
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(workers);
        }
        super.doStop();
    }

    private void waitQuietly(long ms) {
        try {
            stopping.await(ms, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
