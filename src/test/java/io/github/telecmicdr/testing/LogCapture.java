package io.github.telecmicdr.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/** Every log line of this test JVM, as text, so tests can assert what the log never says. */
public final class LogCapture extends AppenderBase<ILoggingEvent> {

    private static final LogCapture INSTANCE = new LogCapture();
    private final Queue<String> lines = new ConcurrentLinkedQueue<>();

    static {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        INSTANCE.setContext(context);
        INSTANCE.setName("test-capture");
        INSTANCE.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(INSTANCE);
    }

    public static LogCapture get() {
        return INSTANCE;
    }

    @Override
    protected void append(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(event.getLevel().toString()).append(' ').append(event.getLoggerName())
                .append(' ').append(event.getFormattedMessage());
        if (event.getThrowableProxy() != null) {
            line.append('\n').append(ThrowableProxyUtil.asString(event.getThrowableProxy()));
        }
        lines.add(line.toString());
    }

    /** The lines logged since {@link #mark()} answered {@code mark}, from one snapshot (other threads go on logging). */
    public List<String> since(int mark) {
        List<String> all = lines();
        return all.subList(Math.min(mark, all.size()), all.size());
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** Lines at ERROR level, or with an exception attached, logged after {@code mark}. */
    public List<String> troubleSince(int mark) {
        List<String> all = lines();
        return all.subList(Math.min(mark, all.size()), all.size()).stream()
                .filter(l -> l.startsWith("ERROR") || l.contains("\n\tat ") || l.contains("Exception:")).toList();
    }

    public int mark() {
        return lines.size();
    }

    public List<String> linesContaining(String text) {
        return lines.stream().filter(l -> l.contains(text)).toList();
    }
}
