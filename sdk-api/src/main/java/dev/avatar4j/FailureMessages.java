package dev.avatar4j;

/**
 * The user-facing text of a failure: the cause's own message, never a Java class name (issue 22
 * item 10). The cause itself stays chained for the log and for {@code -v} stack traces.
 */
final class FailureMessages {
    private FailureMessages() {
    }

    /**
     * {@code t}'s message; when it is only a wrapper's copy of its cause's {@code toString()} (as
     * {@code new UncheckedIOException(ioException)} makes), the cause's message instead; when there
     * is none, {@code fallback}.
     */
    static String of(Throwable t, String fallback) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m == null || m.isBlank()) {
                continue; // a cause further down may say what happened
            }
            Throwable inner = c.getCause();
            if (inner != null && m.equals(inner.toString())) {
                continue; // the wrapper only repeats its cause, class name included
            }
            return m;
        }
        return fallback;
    }
}
