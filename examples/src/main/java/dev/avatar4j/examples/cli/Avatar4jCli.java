package dev.avatar4j.examples.cli;

import dev.avatar4j.AvatarException;
import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.InvalidInputException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code avatar4j} command-line tool: {@code generate} a talking-avatar MP4 from a portrait and
 * speech, {@code dub} an existing video with new speech, {@code plan} what a generation would compute without running it,
 * {@code inspect} a bundle without loading it, or {@code doctor} the
 * installation.
 *
 * <p>Every failure ends with exactly one line {@code avatar4j: <what to fix>} on standard error
 * and an exit code that says what kind of problem it was:
 * <table>
 *   <caption>Exit codes</caption>
 *   <tr><td>{@value #EXIT_OK}</td><td>success</td></tr>
 *   <tr><td>{@value #EXIT_UNEXPECTED}</td><td>an unexpected internal error (a bug; {@code -v} shows the stack trace)</td></tr>
 *   <tr><td>{@value #EXIT_USAGE}</td><td>bad input or usage: unknown option, missing or unreadable image/audio,
 *       a corrupt or empty file, a size that is not a multiple of 16, an unknown backend name</td></tr>
 *   <tr><td>{@value #EXIT_BUNDLE}</td><td>the model bundle is missing, not a bundle, or broken</td></tr>
 *   <tr><td>{@value #EXIT_BACKEND}</td><td>the inference backend failed (or another SDK failure, or the Java heap ran out)</td></tr>
 *   <tr><td>{@value #EXIT_CANCELLED}</td><td>cancelled (Ctrl-C)</td></tr>
 * </table>
 *
 * <p>Embedders and tests call {@link #run(String[], PrintStream, PrintStream)}, which never calls
 * {@link System#exit(int)}; {@link #main(String[])} adds the process concerns (logging set-up,
 * Ctrl-C handling, the exit status).
 */
@Command(name = "avatar4j", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Turns a portrait and speech audio into a talking-avatar video.",
        footer = {"", "Exit codes: 0 ok, 2 bad input or usage, 3 model bundle problem, 4 backend failure, "
                + "130 cancelled."})
public final class Avatar4jCli implements Runnable {
    /** Success. */
    public static final int EXIT_OK = 0;
    /** An unexpected internal error. */
    public static final int EXIT_UNEXPECTED = 1;
    /** Bad input or usage. */
    public static final int EXIT_USAGE = 2;
    /** Model bundle problem. */
    public static final int EXIT_BUNDLE = 3;
    /** Backend failure (and any other SDK failure). */
    public static final int EXIT_BACKEND = 4;
    /** Cancelled by the user. */
    public static final int EXIT_CANCELLED = 130;

    /** slf4j-simple's property for the default log level. */
    static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";
    /** slf4j-simple's property for the log destination. */
    static final String LOG_FILE_PROPERTY = "org.slf4j.simpleLogger.logFile";
    private static final String SHOW_THREAD_PROPERTY = "org.slf4j.simpleLogger.showThreadName";
    private static final String SHORT_NAME_PROPERTY = "org.slf4j.simpleLogger.showShortLogName";

    private final PrintStream out;
    private final PrintStream err;
    private final GenerateCommand generate;
    private final ShutdownCleanup shutdown = new ShutdownCleanup();
    private final Object reportLock = new Object();
    private boolean verbose;

    @Spec
    CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Log what happens (SLF4J debug level) and show stack traces of errors.")
    boolean verboseOption;

    /**
     * A CLI writing to the given streams.
     *
     * @param out where results go (the success line, {@code doctor}'s report, help)
     * @param err where errors, logging and the progress bar go
     */
    Avatar4jCli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        this.generate = new GenerateCommand(this);
    }

    /**
     * Runs the tool and exits the JVM with its exit code. Logs at WARN level to standard error
     * unless {@code -v} is given; Ctrl-C cancels a running generation and leaves no partial output.
     *
     * @param args the command line, see {@code avatar4j --help}
     */
    public static void main(String[] args) {
        Avatar4jCli cli = new Avatar4jCli(System.out, System.err);
        Thread hook = new Thread(() -> ShutdownCleanup.onShutdown(cli::cancelForShutdown), "avatar4j-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int code = cli.execute(args);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /**
     * Runs the tool in this JVM: parses {@code args}, runs the command and returns its exit code
     * (see the class description). Never calls {@link System#exit(int)}.
     *
     * @param args command-line arguments, e.g. {@code generate --image a.png --audio a.wav --out a.mp4}
     * @param out  standard output of the command
     * @param err  standard error of the command
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return new Avatar4jCli(out, err).execute(args);
    }

    /** Parses and runs {@code args}; returns the exit code. */
    int execute(String... args) {
        CommandLine cmd = commandLine();
        try {
            return cmd.execute(args);
        } catch (OutOfMemoryError e) { // e.g. decoding a huge image on this thread, past bin/avatar4j's heap bound
            return handleFailure(e);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The picocli command tree over this instance. */
    CommandLine commandLine() {
        CommandLine cmd = new CommandLine(this);
        cmd.addSubcommand("generate", generate);
        cmd.addSubcommand("plan", new PlanCommand(this));
        cmd.addSubcommand("inspect", new InspectCommand(this));
        cmd.addSubcommand("dub", new DubCommand(this));
        cmd.addSubcommand("live", new LiveCommand(this));
        cmd.addSubcommand("doctor", new DoctorCommand(this));
        cmd.addSubcommand("engines", EnginesCommand.commandLine(this));
        cmd.addSubcommand("help", new CommandLine.HelpCommand());
        cmd.setOut(new PrintWriter(out, true, out.charset()));
        cmd.setErr(new PrintWriter(err, true, err.charset()));
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setExecutionStrategy(this::executeParsed);
        cmd.setParameterExceptionHandler((e, args) -> {
            String sub = e.getCommandLine().getCommandSpec().qualifiedName();
            report(e.getMessage() + " (see '" + sub + " --help')", e);
            return EXIT_USAGE;
        });
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> handleFailure(e));
        return cmd;
    }

    private int executeParsed(ParseResult parsed) {
        boolean v = false;
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            v |= p.hasMatchedOption("--verbose");
        }
        verbose = v;
        configureLogging(v);
        return new CommandLine.RunLast().execute(parsed);
    }

    /**
     * Quiet SLF4J simple logging on standard error: WARN, or DEBUG with {@code -v}. Must run
     * before the first logger is created (slf4j-simple reads its configuration once); an explicit
     * {@code -Dorg.slf4j.simpleLogger.defaultLogLevel} wins over the default.
     */
    static void configureLogging(boolean verbose) {
        if (verbose) {
            System.setProperty(LOG_LEVEL_PROPERTY, "debug");
        } else if (System.getProperty(LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(LOG_LEVEL_PROPERTY, "warn");
        }
        if (System.getProperty(LOG_FILE_PROPERTY) == null) {
            System.setProperty(LOG_FILE_PROPERTY, "System.err");
        }
        if (!verbose) { // "WARN AvatarModel - ..." rather than "[main] WARN dev.avatar4j.AvatarModel - ..."
            System.setProperty(SHOW_THREAD_PROPERTY, System.getProperty(SHOW_THREAD_PROPERTY, "false"));
            System.setProperty(SHORT_NAME_PROPERTY, System.getProperty(SHORT_NAME_PROPERTY, "true"));
        }
    }

    /** Without a subcommand: a usage error. */
    @Override
    public void run() {
        List<String> commands = new ArrayList<>(spec.subcommands().keySet());
        commands.remove("help");
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: " + String.join(", ", commands) + " (avatar4j --help describes them)");
    }

    /** Maps a failure to its exit code and reports it in one line. */
    int handleFailure(Throwable e) {
        int code = exitCode(e);
        String message = messageOf(e);
        if (code == EXIT_UNEXPECTED) {
            message = "unexpected error: " + (message == null ? "no detail" : message) + " (-v prints the stack trace)";
        } else if (message == null) {
            message = "failed with no detail (-v prints the stack trace)";
        }
        if (outOfMemory(e)) {
            message = (e instanceof OutOfMemoryError ? "out of memory (" + message + ")" : message)
                    + "; bin/avatar4j gives the Java heap at most 2 GB (a quarter of the RAM): set AVATAR4J_JAVA_OPTS="
                    + "-Xmx8g for more";
        }
        report(message, e);
        return code;
    }

    /**
     * What to tell the user about {@code e}: its own message, never a Java class name; a wrapper
     * that only repeats its cause's {@code toString()} gives way to the cause's message; null when
     * no throwable in the chain says anything.
     */
    static String messageOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m == null || m.isBlank() || (t.getCause() != null && m.equals(t.getCause().toString()))) {
                continue;
            }
            return m;
        }
        return null;
    }

    /** The exit code for a failure: see the class description. */
    static int exitCode(Throwable e) {
        if (e instanceof GenerationCancelledException) {
            return EXIT_CANCELLED;
        }
        if (e instanceof InvalidInputException || e instanceof IllegalArgumentException
                || e instanceof CommandLine.ParameterException) {
            return EXIT_USAGE;
        }
        if (e instanceof BundleException) {
            return EXIT_BUNDLE;
        }
        if (e instanceof BackendException || e instanceof AvatarException || e instanceof OutOfMemoryError) {
            return EXIT_BACKEND;
        }
        return EXIT_UNEXPECTED;
    }

    private static boolean outOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    /** Prints {@code avatar4j: <message>} as one line on standard error (plus the stack trace with -v). */
    void report(String message, Throwable cause) {
        synchronized (reportLock) {
            err.println("avatar4j: " + oneLine(message));
            if (verbose && cause != null && !(cause instanceof CommandLine.ParameterException)) {
                cause.printStackTrace(err);
            }
            err.flush();
        }
    }

    /** Collapses a possibly multi-line message into one line. */
    static String oneLine(String message) {
        String s = message == null ? "" : message.strip();
        return s.replaceAll("\\s*\\R\\s*", " | ");
    }

    /**
     * {@code s} with control and format characters (ESC sequences, newlines, bidi overrides) shown as
     * {@code \\uXXXX}, for text from files (a bundle's name) printed to a terminal.
     */
    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT || c == '\u2028' || c == '\u2029') {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** Standard output of this CLI. */
    PrintStream out() {
        return out;
    }

    /** Standard error of this CLI. */
    PrintStream err() {
        return err;
    }

    /** Whether {@code -v} was given. */
    boolean verbose() {
        return verbose;
    }

    /**
     * Cancels the running generation, if any, and waits up to {@code wait} until its partial output
     * is removed. Called by the shutdown hook on Ctrl-C (and harmless at a normal exit).
     *
     * @return whether a running generation was cancelled
     */
    boolean cancelForShutdown(Duration wait) {
        return shutdown.cancelAndWait(wait);
    }

    /** Tracks the running generation or dub so that a shutdown cancels it; see {@link ShutdownCleanup}. */
    ShutdownCleanup shutdown() {
        return shutdown;
    }

    /** Whether a generation is running now (tests use it to cancel mid-run). */
    boolean generating() {
        return shutdown.running();
    }

    static String format(String pattern, Object... args) {
        return String.format(Locale.ROOT, pattern, args);
    }
}
