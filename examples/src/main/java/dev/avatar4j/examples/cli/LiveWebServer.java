package dev.avatar4j.examples.cli;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.InvalidInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * The web demo of {@code avatar4j live --port}: one HTTP port that serves a small page (HTML and
 * JavaScript kept as resources of this module, no build step) and, at {@value #SOCKET_PATH}, a
 * WebSocket over which the page streams speech in and gets the avatar's frames out. Each socket
 * gets its own {@link dev.avatar4j.LiveSession} ({@link LiveSocket} says what travels over it), up to
 * {@code maxSessions} at once; a socket beyond that is closed at once with status
 * {@value LiveSocket#BUSY} and a reason that says so.
 *
 * <p>Only pages from this server may open the socket (a browser sends their {@code Origin}; another
 * site's page open in the same browser is refused), and the server listens on the loopback
 * interface unless told otherwise.
 */
final class LiveWebServer implements AutoCloseable {
    /** Where the page opens its WebSocket. */
    static final String SOCKET_PATH = "/live";
    /** The page's files, as class path resources under this folder. */
    private static final String RESOURCES = "dev/avatar4j/examples/web/";
    private static final Map<String, String> PAGES = Map.of(
            "/", "index.html",
            "/index.html", "index.html",
            "/live.js", "live.js",
            "/pcm-capture.js", "pcm-capture.js");

    private final Server server;
    private final ServerConnector connector;
    private final AtomicInteger sessions = new AtomicInteger();

    private LiveWebServer(Avatar request, AvatarModel model, String host, int port, int maxSessions) {
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("avatar4j-web");
        threads.setDaemon(true);
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        server.addConnector(connector);
        WebSocketUpgradeHandler sockets = WebSocketUpgradeHandler.from(server, container -> {
            container.setIdleTimeout(Duration.ofSeconds(60));
            container.setMaxBinaryMessageSize(1 << 20);
            container.setMaxTextMessageSize(4096);
            container.addMapping(SOCKET_PATH, (rq, rs, cb) -> sameOrigin(rq, rs, cb)
                    ? new LiveSocket(request, model, sessions, maxSessions) : null);
        });
        sockets.setHandler(new Pages());
        server.setHandler(sockets);
    }

    /**
     * Starts the server.
     *
     * @param request     the live request every socket starts its session from (image, model, size, seed)
     * @param model       the request's model (its frame rate and sample rate go to the page)
     * @param host        the interface to listen on (a name or an address)
     * @param port        the port; 0 for any free one
     * @param maxSessions how many sockets may have a session at once
     * @return the running server
     * @throws InvalidInputException if the port cannot be bound (in use, or not allowed)
     */
    static LiveWebServer start(Avatar request, AvatarModel model, String host, int port, int maxSessions) {
        LiveWebServer s = new LiveWebServer(request, model, host, port, maxSessions);
        try {
            s.server.start();
        } catch (Exception e) {
            s.close();
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof BindException) {
                    throw new InvalidInputException("cannot listen on " + host + ":" + port + ": "
                            + (t.getMessage() == null ? "the address is in use" : t.getMessage().toLowerCase(Locale.ROOT))
                            + " (another program has the port? choose another with --port)");
                }
            }
            throw new InvalidInputException("cannot listen on " + host + ":" + port + ": " + Avatar4jCli.messageOf(e));
        }
        return s;
    }

    /** {@return the port the server listens on (the one chosen when 0 was asked)} */
    int port() {
        return connector.getLocalPort();
    }

    /** {@return the page's address} */
    URI uri() {
        String host = connector.getHost();
        if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
            host = "localhost";
        } else if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + port() + "/");
    }

    /** {@return the sockets that have a live session now} */
    int sessions() {
        return sessions.get();
    }

    /** Waits until the server stops (it stops on {@link #close()}). */
    void join() throws InterruptedException {
        server.join();
    }

    /** Stops listening and closes every socket, which ends their sessions. Idempotent. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            org.slf4j.LoggerFactory.getLogger(LiveWebServer.class).debug("stopping the web server", e);
        }
    }

    /**
     * Whether the upgrade comes from this server's own page (or from a client that is not a
     * browser: no {@code Origin}); otherwise answers 403. Without it any web site the user has open
     * could drive the avatar and read its frames through the user's browser.
     */
    private static boolean sameOrigin(ServerUpgradeRequest rq, ServerUpgradeResponse rs, Callback cb) {
        String origin = rq.getHeaders().get(HttpHeader.ORIGIN);
        String host = rq.getHeaders().get(HttpHeader.HOST);
        if (origin == null) {
            return true;
        }
        try {
            URI o = URI.create(origin);
            if (host != null && o.getRawAuthority() != null && o.getRawAuthority().equalsIgnoreCase(host)) {
                return true;
            }
        } catch (IllegalArgumentException e) {
            // not a URI: refused below
        }
        Response.writeError(rq, rs, cb, HttpStatus.FORBIDDEN_403, "the live socket serves only this server's page");
        return false;
    }

    /** Serves the page's files from the class path; everything else is 404. */
    private static final class Pages extends Handler.Abstract.NonBlocking {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String file = PAGES.get(Request.getPathInContext(request));
            String method = request.getMethod();
            if (file == null) {
                Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
                return true;
            }
            if (!HttpMethod.GET.is(method) && !HttpMethod.HEAD.is(method)) {
                Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
                return true;
            }
            byte[] body = resource(file);
            response.setStatus(HttpStatus.OK_200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, file.endsWith(".html") ? "text/html; charset=utf-8"
                    : "text/javascript; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
            response.getHeaders().put("X-Content-Type-Options", "nosniff");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
            response.write(true, HttpMethod.HEAD.is(method) ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), callback);
            return true;
        }

        private static byte[] resource(String file) {
            try (InputStream in = LiveWebServer.class.getClassLoader().getResourceAsStream(RESOURCES + file)) {
                if (in == null) {
                    throw new IllegalStateException("the page's resource " + RESOURCES + file + " is missing from the jar");
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
