package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.LiveOptions;
import dev.avatar4j.LiveSession;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One browser's WebSocket of the web demo and its {@link LiveSession}: the session starts when the
 * socket opens (idle frames flow at once) and is closed when the socket closes.
 *
 * <p><b>Browser to server.</b> Text messages are small JSON objects:
 * {@code {"type":"start","sampleRate":48000}} (the rate of the PCM that follows; required before the
 * first PCM, may be sent again), {@code {"type":"endOfSpeech"}} ({@link LiveSession#endOfSpeech()})
 * and {@code {"type":"interrupt"}} ({@link LiveSession#interrupt()}). Binary messages are speech:
 * 16-bit signed little-endian mono PCM, any length, pushed as they come
 * ({@link LiveSession#pushPcm16(byte[], int)}).
 *
 * <p><b>Server to browser.</b> First a text message {@code {"type":"ready","fps":25,"sampleRate":16000,
 * "model":"preview"}} (the frame rate, and the rate the frames' speech positions count at). Then one
 * binary message per frame, at the model's frame rate, idle frames included: a 4-byte big-endian
 * length {@code n}, {@code n} bytes of UTF-8 JSON {@code {"index":12,"width":512,"height":512,
 * "speech":[start,end]}} ({@code speech} is the {@link Frame#speech()} span in samples at the ready
 * message's rate, or null for an idle frame), then the frame as a JPEG. A client that reads slower
 * than the frame rate loses the oldest frames ({@link LiveOptions.SlowConsumer#DROP_OLDEST}); the
 * session never waits for it. A bad message or a failure of the session (no face in the image, say)
 * is answered with {@code {"type":"error","message":"..."}}; a failure then closes the socket.
 *
 * <p>Public only because Jetty calls the listener methods through public method handles; it is no
 * API (the CLI is not a library).
 */
public final class LiveSocket implements Session.Listener.AutoDemanding {
    /** Close status for a socket over the session limit ("try again later"). */
    static final int BUSY = StatusCode.TRY_AGAIN_LATER;
    private static final Logger LOG = LoggerFactory.getLogger(LiveSocket.class);
    private static final AtomicInteger COUNT = new AtomicInteger();
    private static final long SEND_TIMEOUT_SECONDS = 30;
    private static final float JPEG_QUALITY = 0.85f;

    private final Avatar request;
    private final AvatarModel model;
    private final AtomicInteger sessions;
    private final int maxSessions;
    private final Object sendLock = new Object();
    private volatile Session socket;
    private volatile LiveSession live;
    private volatile int rate; // of the PCM the browser sends; 0 until "start"
    private boolean counted;

    LiveSocket(Avatar request, AvatarModel model, AtomicInteger sessions, int maxSessions) {
        this.request = request;
        this.model = model;
        this.sessions = sessions;
        this.maxSessions = maxSessions;
    }

    @Override
    public void onWebSocketOpen(Session session) {
        socket = session;
        int n = sessions.incrementAndGet();
        synchronized (this) {
            counted = true;
        }
        if (n > maxSessions) {
            release();
            session.close(BUSY, "busy: " + maxSessions + " live session" + (maxSessions == 1 ? "" : "s")
                    + " already running (avatar4j live --max-sessions)", Callback.NOOP);
            return;
        }
        LiveSession s;
        try {
            s = request.live(LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.DROP_OLDEST).frameBuffer(4));
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        live = s;
        Iterator<Frame> frames = s.iterator();
        Thread sender = new Thread(() -> sendFrames(s, frames), "avatar4j-live-socket-" + COUNT.incrementAndGet());
        sender.setDaemon(true);
        sender.start();
        LOG.debug("live socket from {} opened", session.getRemoteSocketAddress());
    }

    @Override
    public void onWebSocketText(String message) {
        LiveSession s = live;
        if (s == null) {
            return;
        }
        Map<String, Object> m;
        try {
            m = JSON.std.mapFrom(message);
        } catch (IOException | RuntimeException e) {
            error("not a JSON object: " + Avatar4jCli.oneLine(String.valueOf(e.getMessage())));
            return;
        }
        Object type = m.get("type");
        try {
            switch (type instanceof String t ? t : "") {
                case "start" -> {
                    Object r = m.get("sampleRate");
                    if (!(r instanceof Number n) || n.doubleValue() != n.intValue() || n.intValue() < 8000
                            || n.intValue() > 192_000) {
                        error("start wants an integer sampleRate of 8000..192000 Hz, got " + r);
                    } else {
                        rate = n.intValue();
                    }
                }
                case "endOfSpeech" -> s.endOfSpeech();
                case "interrupt" -> s.interrupt();
                default -> error("unknown message type " + type + " (start, endOfSpeech, interrupt)");
            }
        } catch (IllegalStateException e) {
            // the session has ended: the socket is being closed
        }
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        LiveSession s = live;
        int r = rate;
        try {
            if (s == null) {
                return;
            }
            if (r == 0) {
                error("send {\"type\":\"start\",\"sampleRate\":N} before the first PCM");
                return;
            }
            byte[] pcm = new byte[payload.remaining()];
            payload.get(pcm);
            s.pushPcm16(pcm, r); // blocks only when 30 s of speech are queued: a client far ahead of real time
        } catch (IllegalStateException e) {
            // the session has ended: the socket is being closed
        } finally {
            callback.succeed();
        }
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        LOG.debug("live socket failed", cause);
        end();
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
        LOG.debug("live socket closed: {} {}", statusCode, reason);
        end();
    }

    /** Sends every frame of the session until it ends, then closes the socket. */
    private void sendFrames(LiveSession s, Iterator<Frame> frames) {
        ImageWriter jpeg = ImageIO.getImageWritersByFormatName("jpeg").next();
        try {
            Map<String, Object> ready = new LinkedHashMap<>();
            ready.put("type", "ready");
            ready.put("fps", model.fps());
            ready.put("sampleRate", model.sampleRate());
            ready.put("model", model.name());
            sendText(JSON.std.asString(ready));
            while (frames.hasNext()) {
                Frame f = frames.next();
                Session ws = socket;
                if (ws == null || !ws.isOpen()) {
                    break;
                }
                send(ws, encode(f, jpeg));
            }
        } catch (UncheckedIOException | IOException e) {
            LOG.debug("live socket: sending stopped", e); // the browser went away, or the socket closed
        } catch (RuntimeException e) {
            fail(e); // the session failed (no face in the image, say)
        } finally {
            jpeg.dispose();
            s.close();
        }
    }

    /** The frame's binary message: header length, JSON header, JPEG. */
    static ByteBuffer encode(Frame f, ImageWriter jpeg) throws IOException {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("index", f.index());
        h.put("width", f.width());
        h.put("height", f.height());
        h.put("speech", f.speech().map(sp -> List.of(sp.start(), sp.end())).orElse(null));
        byte[] header = JSON.std.asString(h).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(4 + header.length + f.width() * f.height() / 4);
        out.write(header.length >>> 24);
        out.write(header.length >>> 16);
        out.write(header.length >>> 8);
        out.write(header.length);
        out.write(header);
        BufferedImage img = f.image().toBufferedImage();
        ImageWriteParam p = jpeg.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(JPEG_QUALITY);
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            jpeg.setOutput(ios);
            jpeg.write(null, new IIOImage(img, null, null), p);
        }
        return ByteBuffer.wrap(out.toByteArray());
    }

    /** Reports a failure of the session to the browser and closes the socket. */
    private void fail(Throwable e) {
        String message = Avatar4jCli.messageOf(e);
        LOG.warn("live session failed: {}", message);
        error(message == null ? "the live session failed" : message);
        Session ws = socket;
        if (ws != null) {
            ws.close(StatusCode.SERVER_ERROR, "the live session failed", Callback.NOOP);
        }
        end();
    }

    private void error(String message) {
        try {
            sendText(JSON.std.asString(Map.of("type", "error", "message", message)));
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot report an error to the browser", e);
        }
    }

    private void sendText(String text) {
        Session ws = socket;
        if (ws == null || !ws.isOpen()) {
            return;
        }
        synchronized (sendLock) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            ws.sendText(text, Callback.from(() -> done.complete(null), done::completeExceptionally));
            await(done);
        }
    }

    /** Sends one binary message and waits for it to be written (one message in flight at a time). */
    private void send(Session ws, ByteBuffer message) {
        synchronized (sendLock) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            ws.sendBinary(message, Callback.from(() -> done.complete(null), done::completeExceptionally));
            await(done);
        }
    }

    private static void await(CompletableFuture<Void> done) {
        try {
            done.get(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("interrupted while sending", e));
        } catch (ExecutionException e) {
            throw new UncheckedIOException(new IOException("the browser went away", e.getCause()));
        } catch (TimeoutException e) {
            throw new UncheckedIOException(new IOException("the browser took no data for "
                    + SEND_TIMEOUT_SECONDS + " s"));
        }
    }

    /** Closes the session (its sender then ends) and gives back this socket's place. Idempotent. */
    private void end() {
        LiveSession s = live;
        if (s != null) {
            s.close();
        }
        release();
    }

    private void release() {
        synchronized (this) {
            if (!counted) {
                return;
            }
            counted = false;
        }
        sessions.decrementAndGet();
    }
}
