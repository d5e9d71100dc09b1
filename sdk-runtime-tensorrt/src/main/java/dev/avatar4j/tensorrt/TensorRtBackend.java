package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.UsageGate;
import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import dev.avatar4j.tensorrt.ffi.a4j_shape_range;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TensorRT backend: opens a bundle's ONNX graph as a TensorRT engine, building it on first use
 * and caching the serialized engine on disk (see {@link EngineCache} for the key).
 *
 * <p>Arenas: the logger and the symbol lookup live in the global arena; the runtime lives in this
 * backend's shared arena with its native destroy attached; each session has its own shared arena
 * for its engine, context and stream; every call uses a confined arena for its arguments.
 */
public final class TensorRtBackend implements Backend {
    /** The manifest graph-variant name this backend prefers. */
    public static final String VARIANT = "tensorrt";
    private static final Logger log = LoggerFactory.getLogger(TensorRtBackend.class);

    private final Shim.Machine machine;
    private final TrtOptions options;
    private final EngineCache cache;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment runtime;
    private final Set<TrtGraphSession> sessions = ConcurrentHashMap.newKeySet();
    private final Set<TrtDeviceScope> deviceScopes = ConcurrentHashMap.newKeySet();
    private final TransferCounter transfers = new TransferCounter();
    private final UsageGate gate;

    TensorRtBackend(Shim.Machine machine, TrtOptions options) {
        this.machine = machine;
        this.options = options;
        this.cache = new EngineCache(options.cacheDir());
        MemorySegment logger = TrtLogger.handle();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            Shim.check(AvatarTrt.a4j_runtime_create(logger, out, err, Shim.ERR_CAP), err, "create runtime");
            this.runtime = out.get(ValueLayout.ADDRESS, 0).reinterpret(arena, AvatarTrt::a4j_runtime_destroy);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.gate = new UsageGate(() -> {
            for (TrtDeviceScope d : deviceScopes) {
                d.close();
            }
            for (TrtGraphSession s : sessions) {
                s.close();
            }
            arena.close();
        });
    }

    @Override
    public String name() {
        return "tensorrt";
    }

    /**
     * {@value #VARIANT}: a graph exported for TensorRT (e.g. plain MatMul-Softmax-MatMul attention
     * that its builder fuses); without one the main file, never the ONNX Runtime variant.
     */
    @Override
    public java.util.List<String> graphVariants() {
        return java.util.List.of(VARIANT);
    }

    @Override
    public String description() {
        return "TensorRT " + machine.tensorRt() + " " + options.precision() + " (CUDA " + machine.cuda() + ", "
                + machine.deviceName() + ", compute capability " + machine.computeCapability() + ")";
    }

    /** The engine cache this backend reads and writes. */
    Path cacheDir() {
        return cache.dir();
    }

    /**
     * Opens a graph from its verified content: the engine cache key is the digest of the verified
     * graph and external data ({@link GraphSource#contentSha256()}), and an engine is built from a
     * private copy of exactly those bytes (TensorRT's ONNX parser reads a file and resolves external
     * data beside it), written to a new owner-only temporary folder and removed after the build.
     */
    @Override
    public GraphSession open(GraphSource graph, SessionOptions sessionOptions) {
        if (!gate.enter()) {
            throw new BackendException("the TensorRT backend is closed");
        }
        try {
            Path graphFile = graph.path();
            String name = graph.name();
            EngineCache.Key key = key(graph);
            Optional<byte[]> cached = cache.read(graphFile, key);
            TrtGraphSession s = null;
            if (cached.isPresent()) {
                try {
                    s = TrtGraphSession.open(runtime, cached.get(), name, transfers, sessions::remove);
                    log.debug("engine for {} from cache {}", name, cache.path(graphFile, key));
                } catch (TrtStatus.TrtException e) {
                    log.warn("cached engine {} is unusable ({}); rebuilding it", cache.path(graphFile, key), e.getMessage());
                    cache.evict(graphFile, key);
                }
            }
            if (s == null) {
                s = TrtGraphSession.open(runtime, buildAndCache(graph, key), name, transfers, sessions::remove);
            }
            sessions.add(s);
            return s;
        } finally {
            gate.exit();
        }
    }

    /**
     * A scope of GPU memory for one generation, with its own CUDA stream: its tensors persist across
     * {@code enqueueV3} calls and are bound by address, so loop-carried state (the VAE decoder's
     * caches, the DiT's inputs) never crosses the bus; its copies are counted
     * ({@link DeviceScope#transfers()}).
     */
    @Override
    public DeviceScope openDeviceScope() {
        if (!gate.enter()) {
            throw new BackendException("the TensorRT backend is closed");
        }
        try {
            TrtDeviceScope d = new TrtDeviceScope(transfers, deviceScopes::remove);
            deviceScopes.add(d);
            return d;
        } finally {
            gate.exit();
        }
    }

    /**
     * Host↔device bytes this backend has moved so far, over every session and device scope (a
     * diagnostic: {@code bench/gpu} prints it per latent frame).
     *
     * @return {@code [to the device, to the host]}
     */
    public long[] transferredBytes() {
        return new long[] {transfers.toDevice(), transfers.toHost()};
    }

    /**
     * Builds the engine of an ONNX graph now (whether or not it is cached) and stores it in the
     * cache, so that the first generation does not pay for the build ({@code avatar4j engines build}).
     *
     * @param graphFile a trusted ONNX graph file (read once with {@link Bundle#readGraph(Path)})
     * @return the engine file written
     * @throws BackendException when TensorRT cannot build it
     */
    public Path prebuild(Path graphFile) {
        if (!Files.isRegularFile(graphFile)) {
            throw new BackendException("graph file " + graphFile + " does not exist");
        }
        return prebuild(Bundle.readGraph(graphFile));
    }

    /**
     * Builds the engine of a verified graph now and stores it in the cache.
     *
     * @param graph a graph from {@link Bundle#graph(String)}
     * @return the engine file written
     * @throws BackendException when TensorRT cannot build it
     */
    public Path prebuild(GraphSource graph) {
        EngineCache.Key key = key(graph);
        buildAndCache(graph, key);
        return cache.path(graph.path(), key);
    }

    private byte[] buildAndCache(GraphSource graph, EngineCache.Key key) {
        log.info("building a TensorRT {} engine for {} (first use; cached in {})", options.precision(graph.path()).text(),
                graph.name(), cache.dir());
        byte[] plan = buildFromPrivateCopy(graph);
        cache.write(graph.path(), key, plan);
        return plan;
    }

    /** The cache key of a trusted graph file under this backend's machine and options. */
    EngineCache.Key key(Path graphFile) {
        return key(Bundle.readGraph(graphFile));
    }

    /** The cache key of a graph under this backend's machine and options. */
    EngineCache.Key key(GraphSource graph) {
        return new EngineCache.Key(graph.contentSha256(), machine.tensorRt(), machine.computeCapability(),
                options.profile(graph.path()), options.precision(graph.path()).text());
    }

    /** Writes the verified bytes to a new private folder, builds from there, and removes the folder. */
    private byte[] buildFromPrivateCopy(GraphSource graph) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("avatar4j-trt-build-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path copy = dir.resolve("graph.onnx");
            Files.write(copy, graph.bytes(), StandardOpenOption.CREATE_NEW);
            for (GraphSource.ExternalFile f : graph.externalFiles()) {
                Path target = dir.resolve(f.location()).normalize();
                if (!target.startsWith(dir)) {
                    throw new BackendException("external data \"" + f.location() + "\" of " + graph.name()
                            + " is not inside the graph's folder");
                }
                Files.createDirectories(target.getParent());
                f.copyTo(target); // checks the digest of the bytes copied
            }
            return build(copy, graph.path());
        } catch (java.io.IOException e) {
            throw new BackendException("cannot stage " + graph.name() + " for the TensorRT build: " + e.getMessage(), e);
        } finally {
            if (dir != null) {
                deleteTree(dir);
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (java.io.IOException e) {
                    log.debug("could not remove {}", p, e);
                }
            });
        } catch (java.io.IOException e) {
            log.debug("could not remove {}", dir, e);
        }
    }

    /** Builds from {@code onnxFile}; {@code graphFile} (the bundle's file) names the profile ranges and messages. */
    private byte[] build(Path onnxFile, Path graphFile) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            Map<String, ProfileRanges.Range> ranges = options.ranges().forGraph(graphFile);
            MemorySegment structs = ranges.isEmpty() ? MemorySegment.NULL : a4j_shape_range.allocateArray(ranges.size(), call);
            int i = 0;
            for (Map.Entry<String, ProfileRanges.Range> e : ranges.entrySet()) {
                MemorySegment r = structs.asSlice(i++ * a4j_shape_range.sizeof(), a4j_shape_range.sizeof());
                ProfileRanges.Range range = e.getValue();
                a4j_shape_range.name(r, call.allocateFrom(e.getKey()));
                a4j_shape_range.rank(r, range.min().length);
                for (int k = 0; k < range.min().length; k++) {
                    a4j_shape_range.min(r, k, range.min()[k]);
                    a4j_shape_range.opt(r, k, range.opt()[k]);
                    a4j_shape_range.max(r, k, range.max()[k]);
                }
            }
            int rc = AvatarTrt.a4j_build_from_onnx(TrtLogger.handle(), call.allocateFrom(onnxFile.toAbsolutePath().toString()),
                    options.precision(graphFile).flags(), structs, ranges.size(),
                    options.dynamicMin(), options.dynamicOpt(), options.dynamicMax(), options.workspaceBytes(),
                    out, err, Shim.ERR_CAP);
            Shim.check(rc, err, "engine build for " + graphFile.getFileName());
            MemorySegment blob = out.get(ValueLayout.ADDRESS, 0);
            try {
                long size = AvatarTrt.a4j_blob_size(blob);
                return AvatarTrt.a4j_blob_data(blob).reinterpret(size).toArray(ValueLayout.JAVA_BYTE);
            } finally {
                AvatarTrt.a4j_blob_destroy(blob);
            }
        }
    }

    /** Sessions currently open. */
    int openSessions() {
        return sessions.size();
    }

    /** Closes sessions still open (waiting for their runs), then the runtime. Idempotent. */
    @Override
    public void close() {
        gate.close();
    }
}
