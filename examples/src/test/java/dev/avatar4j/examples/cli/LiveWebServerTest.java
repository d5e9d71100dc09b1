package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.io.MediaRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server of the browser demo without a browser: its pages, and its WebSocket protocol spoken by
 * the JDK's WebSocket client (speech in, frames with their speech spans out, control messages, bad
 * messages, the session limit, other sites' pages refused, the session ended with its socket).
 */
class LiveWebServerTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static AvatarModel model;
    private static Avatar request;

    @BeforeAll
    static void load() {
        model = AvatarModel.load(REPO.resolve("models/preview"));
        request = Avatar.from(REPO.resolve("examples/media/portrait.png")).model(model).size(128, 128);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void servesThePageItsScriptsAndNothingElse() throws Exception {
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1)) {
            HttpResponse<String> page = get(server.uri());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
            assertThat(page.body()).contains("<title>avatar4j live</title>", "live.js");
            for (String js : List.of("live.js", "pcm-capture.js")) {
                HttpResponse<String> r = get(server.uri().resolve(js));
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("content-type")).hasValue("text/javascript; charset=utf-8");
            }
            assertThat(get(server.uri().resolve("pom.xml")).statusCode()).isEqualTo(404);
            assertThat(get(URI.create(server.uri() + "..%2F..%2Fetc%2Fpasswd")).statusCode()).isIn(400, 404);
            HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(server.uri())
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(page.headers().firstValue("server")).as("no version advertised").isEmpty();
        }
    }

    @Test
    void speechInFramesOutIdleBeforeAndAfterEverySampleShownOnce() throws Exception {
        float[] speech = MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"), 16_000).samples();
        int n = 16_000; // one second
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1);
             Client c = new Client(server)) {
            Map<String, Object> ready = c.text();
            assertThat(ready).containsEntry("type", "ready").containsEntry("fps", 25).containsEntry("sampleRate", 16_000)
                    .containsEntry("model", "preview");
            Frame first = c.frame();
            assertThat(first.speech()).as("idle frames before any speech").isNull();
            BufferedImage jpeg = ImageIO.read(new ByteArrayInputStream(first.jpeg()));
            assertThat(jpeg.getWidth()).isEqualTo(128);
            assertThat(first.width()).isEqualTo(128);

            c.send("{\"type\":\"start\",\"sampleRate\":16000}");
            for (int i = 0; i < n; i += 320) { // 20 ms chunks, as the page sends them
                c.ws.sendBinary(pcm16(speech, i, Math.min(320, n - i)), true).join();
            }
            c.send("{\"type\":\"endOfSpeech\"}");
            long shownTo = 0;
            int last = first.index();
            while (shownTo < n) {
                Frame f = c.frame();
                assertThat(f.index()).as("frames in order").isGreaterThan(last);
                last = f.index();
                if (f.speech() != null) {
                    assertThat(f.speech().get(0)).as("consecutive spans").isEqualTo(shownTo);
                    shownTo = f.speech().get(1);
                }
            }
            assertThat(shownTo).as("the utterance shown to its last sample, no further").isEqualTo(n);
            assertThat(c.frame().speech()).as("idle again after endOfSpeech").isNull();
            assertThat(c.texts).as("no error").isEmpty();
        }
    }

    @Test
    void interruptDropsTheQueuedSpeech() throws Exception {
        float[] speech = MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"), 16_000).samples();
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1);
             Client c = new Client(server)) {
            c.text(); // ready
            c.send("{\"type\":\"start\",\"sampleRate\":16000}");
            c.ws.sendBinary(pcm16(speech, 0, speech.length), true).join(); // 5.9 s at once: queued
            Frame speaking;
            do {
                speaking = c.frame();
            } while (speaking.speech() == null);
            c.send("{\"type\":\"interrupt\"}");
            long shown = speaking.speech().get(1);
            // within a few frames (the client's buffer), idle, far before the end of the speech
            Frame f;
            int frames = 0;
            do {
                f = c.frame();
                if (f.speech() != null) {
                    shown = f.speech().get(1);
                }
                assertThat(++frames).as("idle soon after interrupt").isLessThan(40);
            } while (f.speech() != null);
            assertThat(shown).isLessThan(speech.length / 2);
        }
    }

    @Test
    void badMessagesAreAnsweredAndTheSessionGoesOn() throws Exception {
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1);
             Client c = new Client(server)) {
            c.text(); // ready
            c.ws.sendBinary(ByteBuffer.wrap(new byte[640]), true).join();
            assertThat(c.text().get("message").toString()).contains("before the first PCM");
            c.send("{\"type\":\"start\",\"sampleRate\":100}");
            assertThat(c.text().get("message").toString()).contains("8000..192000");
            c.send("{\"type\":\"dance\"}");
            assertThat(c.text().get("message").toString()).contains("unknown message type dance");
            c.send("not json");
            assertThat(c.text().get("message").toString()).contains("not a JSON object");
            c.frame();
            assertThat(c.ws.isOutputClosed()).isFalse();
        }
    }

    @Test
    void aSocketOverTheLimitIsRefusedAndAClosedSocketGivesItsPlaceBack() throws Exception {
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1)) {
            try (Client first = new Client(server); Client second = new Client(server)) {
                first.text();
                Closed closed = second.closed.get(60, TimeUnit.SECONDS);
                assertThat(closed.status()).isEqualTo(LiveSocket.BUSY);
                assertThat(closed.reason()).contains("busy", "1 live session already running", "--max-sessions");
                assertThat(server.sessions()).isEqualTo(1);
                first.frame();
            }
            awaitSessions(server, 0);
            try (Client again = new Client(server)) {
                assertThat(again.text()).containsEntry("type", "ready");
                again.frame();
            }
            awaitSessions(server, 0);
        }
    }

    @Test
    void anotherSitesPageCannotOpenTheSocket() throws Exception {
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 1)) {
            URI ws = URI.create("ws://127.0.0.1:" + server.port() + LiveWebServer.SOCKET_PATH);
            assertThatThrownBy(() -> HTTP.newWebSocketBuilder().header("Origin", "http://evil.example")
                    .buildAsync(ws, new WebSocket.Listener() { }).join())
                    .isInstanceOf(CompletionException.class)
                    .cause().isInstanceOf(WebSocketHandshakeException.class)
                    .satisfies(e -> assertThat(((WebSocketHandshakeException) e).getResponse().statusCode())
                            .isEqualTo(403));
            // the server's own page may
            try (Client c = new Client(server, "http://127.0.0.1:" + server.port())) {
                assertThat(c.text()).containsEntry("type", "ready");
            }
        }
    }

    @Test
    void aPortInUseIsAUsageErrorThatSaysSo() throws Exception {
        try (LiveWebServer first = LiveWebServer.start(request, model, "127.0.0.1", 0, 1)) {
            assertThatThrownBy(() -> LiveWebServer.start(request, model, "127.0.0.1", first.port(), 1))
                    .isInstanceOf(dev.avatar4j.InvalidInputException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + first.port())
                    .hasMessageContaining("--port");
        }
    }

    private static void awaitSessions(LiveWebServer server, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (server.sessions() != n) {
            assertThat(System.nanoTime()).as("sessions back to %d", n).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    static ByteBuffer pcm16(float[] s, int off, int n) {
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putShort((short) Math.round(Math.clamp(s[off + i], -1f, 1f) * 32767));
        }
        return b.flip();
    }

    /** A frame message: its header and JPEG. */
    record Frame(int index, int width, List<Long> speech, byte[] jpeg) {
    }

    record Closed(int status, String reason) {
    }

    /** A WebSocket client of the demo's protocol that queues what it gets. */
    static final class Client implements AutoCloseable {
        final BlockingQueue<Map<String, Object>> texts = new LinkedBlockingQueue<>();
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        final CompletableFuture<Closed> closed = new CompletableFuture<>();
        final WebSocket ws;

        Client(LiveWebServer server) {
            this(server, null);
        }

        Client(LiveWebServer server, String origin) {
            WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30));
            if (origin != null) {
                b.header("Origin", origin);
            }
            ws = b.buildAsync(URI.create("ws://127.0.0.1:" + server.port() + LiveWebServer.SOCKET_PATH),
                    new WebSocket.Listener() {
                        private final StringBuilder text = new StringBuilder();
                        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            text.append(data);
                            if (last) {
                                try {
                                    texts.add(JSON.std.mapFrom(text.toString()));
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                                text.setLength(0);
                            }
                            w.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                            byte[] b = new byte[data.remaining()];
                            data.get(b);
                            binary.writeBytes(b);
                            if (last) {
                                frames.add(binary.toByteArray());
                                binary.reset();
                            }
                            w.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
                            closed.complete(new Closed(status, reason));
                            return null;
                        }

                        @Override
                        public void onError(WebSocket w, Throwable error) {
                            closed.completeExceptionally(error);
                        }
                    }).join();
        }

        void send(String text) {
            ws.sendText(text, true).join();
        }

        Map<String, Object> text() throws InterruptedException {
            Map<String, Object> m = texts.poll(60, TimeUnit.SECONDS);
            assertThat(m).as("a text message within a minute").isNotNull();
            return m;
        }

        @SuppressWarnings("unchecked")
        Frame frame() throws Exception {
            byte[] b = frames.poll(60, TimeUnit.SECONDS);
            assertThat(b).as("a frame within a minute").isNotNull();
            int n = ByteBuffer.wrap(b).getInt();
            Map<String, Object> h = JSON.std.mapFrom(new String(b, 4, n, StandardCharsets.UTF_8));
            List<Number> sp = (List<Number>) h.get("speech");
            byte[] jpeg = java.util.Arrays.copyOfRange(b, 4 + n, b.length);
            assertThat(jpeg).startsWith((byte) 0xFF, (byte) 0xD8); // a JPEG's SOI marker
            return new Frame(((Number) h.get("index")).intValue(), ((Number) h.get("width")).intValue(),
                    sp == null ? null : List.of(sp.get(0).longValue(), sp.get(1).longValue()), jpeg);
        }

        @Override
        public void close() {
            try {
                if (!ws.isOutputClosed()) {
                    ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                // closed by the server already
            }
            ws.abort();
        }
    }
}
