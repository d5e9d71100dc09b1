package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A headless Chromium driven over the DevTools protocol (its HTTP endpoint and a WebSocket of the
 * JDK's {@link HttpClient}): opens one page and evaluates JavaScript in it. Tests only; needs the
 * {@code chromium} executable (Debian's {@code chromium} package) or {@code $AVATAR4J_CHROMIUM}.
 */
final class HeadlessChromium implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(90);

    private final Process process;
    private final Path log;
    private final HttpClient http = HttpClient.newHttpClient();
    private final WebSocket devtools;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<Map<String, Object>>> calls = new ConcurrentHashMap<>();

    /** The Chromium executable: {@code $AVATAR4J_CHROMIUM}, else chromium (or Chrome) on the PATH; null if none. */
    static Path executable() {
        String env = System.getenv("AVATAR4J_CHROMIUM");
        if (env != null && !env.isBlank()) {
            return Files.isExecutable(Path.of(env)) ? Path.of(env) : null;
        }
        for (String name : List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) {
            Path p = Avatar4jCliTest.onPath(name);
            if (p != null) {
                return p;
            }
        }
        return null;
    }

    /**
     * Starts Chromium headless on {@code url} with {@code flags} added to its own.
     *
     * @param dir   a scratch folder (the profile and the browser's log go there)
     * @param flags more command-line flags
     * @param url   the page to open
     */
    HeadlessChromium(Path chromium, Path dir, List<String> flags, String url) throws IOException, InterruptedException {
        Path profile = Files.createDirectories(dir.resolve("profile"));
        log = dir.resolve("chromium.log");
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless=new", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows", "--user-data-dir=" + profile,
                "--remote-debugging-port=0", "--window-size=1100,700"));
        cmd.addAll(flags);
        cmd.add(url);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        // its own temporary files (a socket folder per run) go to the scratch folder, not /tmp
        pb.environment().put("TMPDIR", Files.createDirectories(dir.resolve("tmp")).toString());
        process = pb.start();
        try {
            // Chromium writes the port it chose to DevToolsActivePort in the profile
            Path active = profile.resolve("DevToolsActivePort");
            long deadline = System.nanoTime() + START.toNanos();
            String port = null;
            while (port == null) {
                if (!process.isAlive()) {
                    throw new IOException("chromium exited with " + process.exitValue() + ": " + log());
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("chromium did not open its DevTools port within " + START + ": " + log());
                }
                List<String> lines = Files.exists(active) ? Files.readAllLines(active) : List.of();
                if (lines.size() >= 2 && !lines.get(0).isBlank()) {
                    port = lines.get(0).strip();
                } else {
                    Thread.sleep(100);
                }
            }
            devtools = connect(pageSocket(port, deadline));
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The page target's DevTools WebSocket, from the HTTP endpoint's list of targets. */
    private String pageSocket(String port, long deadline) throws IOException, InterruptedException {
        while (true) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/json/list")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            for (Object t : JSON.std.listFrom(r.body())) {
                if (t instanceof Map<?, ?> m && "page".equals(m.get("type")) && m.get("webSocketDebuggerUrl") != null) {
                    return (String) m.get("webSocketDebuggerUrl");
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("chromium shows no page target: " + r.body());
            }
            Thread.sleep(100);
        }
    }

    private WebSocket connect(String uri) {
        return http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30)).buildAsync(URI.create(uri),
                new WebSocket.Listener() {
                    private final StringBuilder text = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            received(text.toString());
                            text.setLength(0);
                        }
                        ws.request(1);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket ws, Throwable error) {
                        calls.values().forEach(c -> c.completeExceptionally(error));
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                        calls.values().forEach(c -> c.completeExceptionally(new IOException("DevTools closed: "
                                + status + " " + reason)));
                        return null;
                    }
                }).join();
    }

    private void received(String message) {
        try {
            Map<String, Object> m = JSON.std.mapFrom(message);
            if (m.get("id") instanceof Number id) {
                CompletableFuture<Map<String, Object>> c = calls.remove(id.intValue());
                if (c != null) {
                    c.complete(m);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Evaluates a JavaScript expression in the page (awaiting it if it is a promise).
     *
     * @return its value, as JSON turns it into Java (maps, lists, numbers, strings), or null
     * @throws IOException if the expression threw or the browser did not answer within a minute
     */
    Object evaluate(String expression) throws IOException, InterruptedException {
        Map<String, Object> result = call("Runtime.evaluate",
                Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (result.get("exceptionDetails") != null) {
            throw new IOException(expression + " threw: " + result.get("exceptionDetails"));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> value = (Map<String, Object>) result.get("result");
        return value.get("value");
    }

    /** Saves a PNG of the page as the browser shows it. */
    void screenshot(Path png) throws IOException, InterruptedException {
        Map<String, Object> r = call("Page.captureScreenshot", Map.of("format", "png"));
        Files.write(png, java.util.Base64.getDecoder().decode((String) r.get("data")));
    }

    /**
     * Calls a DevTools method of the page.
     *
     * @return its result
     * @throws IOException if the browser answered with an error or not within a minute
     */
    @SuppressWarnings("unchecked")
    Map<String, Object> call(String method, Map<String, Object> params) throws IOException, InterruptedException {
        int id = ids.incrementAndGet();
        CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
        calls.put(id, answer);
        devtools.sendText(JSON.std.asString(Map.of("id", id, "method", method, "params", params)), true).join();
        Map<String, Object> r;
        try {
            r = answer.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException("DevTools did not answer " + method + " " + params + ": " + e, e);
        }
        if (r.get("error") != null) {
            throw new IOException("DevTools error for " + method + " " + params + ": " + r.get("error"));
        }
        return (Map<String, Object>) r.get("result");
    }

    /** {@return the tail of the browser's own output, for failure messages} */
    String log() {
        try {
            String s = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Ends the browser and the processes it started. */
    @Override
    public void close() {
        if (devtools != null) {
            devtools.abort();
        }
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle c : children) {
            if (c.isAlive()) {
                c.destroyForcibly();
            }
        }
        http.close();
    }
}
