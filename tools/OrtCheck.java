import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Numeric check of a bundle's ONNX graphs against PyTorch (or reference) outputs in OrtCheck case
 * files: {@code make_tiny_stableavatar.py --dump-tests DIR} for the legacy-layout fixture, the
 * exporter's goldens for exported graphs ({@code tools/export/test}). Not part of the build; run with
 * Java 25:
 *
 * <pre>
 * java -cp ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar \
 *      tools/OrtCheck.java DIR sdk-runtime-onnx/src/test/bundles/stableavatar-legacy-layout [tolerance]
 * </pre>
 */
public class OrtCheck {
    record Spec(String name, String dtype, long[] shape, String file) {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path bundle = Path.of(args[1]);
        double tol = args.length > 2 ? Double.parseDouble(args[2]) : 1e-4;
        List<String> lines = Files.readAllLines(dir.resolve("cases.txt"));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        String graph = null;
        List<Spec> ins = new ArrayList<>(), outs = new ArrayList<>();
        int failures = 0;
        lines.add("case END");
        for (String line : lines) {
            String[] p = line.trim().split(" ");
            if (p[0].equals("case")) {
                if (graph != null) {
                    failures += run(env, sessions, bundle, dir, graph, ins, outs, tol);
                }
                graph = p[1];
                ins = new ArrayList<>();
                outs = new ArrayList<>();
            } else {
                String[] ds = p[3].split(",");
                long[] shape = new long[ds.length];
                for (int i = 0; i < ds.length; i++) shape[i] = Long.parseLong(ds[i]);
                (p[0].equals("in") ? ins : outs).add(new Spec(p[1], p[2], shape, p[4]));
            }
        }
        for (OrtSession s : sessions.values()) s.close();
        System.out.println(failures == 0 ? "ALL OK" : failures + " FAILURES");
        System.exit(failures == 0 ? 0 : 1);
    }

    static int run(OrtEnvironment env, Map<String, OrtSession> sessions, Path bundle, Path dir, String graph,
                   List<Spec> ins, List<Spec> outs, double tol) throws Exception {
        OrtSession session = sessions.get(graph);
        if (session == null) {
            OrtSession.SessionOptions so = new OrtSession.SessionOptions();
            so.setIntraOpNumThreads(2);
            session = env.createSession(bundle.resolve(graph).toString(), so);
            sessions.put(graph, session);
        }
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        for (Spec s : ins) {
            ByteBuffer bb = read(dir.resolve(s.file()));
            feeds.put(s.name(), s.dtype().equals("int64")
                    ? OnnxTensor.createTensor(env, bb.asLongBuffer(), s.shape())
                    : OnnxTensor.createTensor(env, bb.asFloatBuffer(), s.shape()));
        }
        int failures = 0;
        long t0 = System.nanoTime();
        try (OrtSession.Result r = session.run(feeds)) {
            double ms = (System.nanoTime() - t0) / 1e6;
            StringBuilder sb = new StringBuilder(String.format("%-18s %8.1f ms", graph, ms));
            for (Spec s : outs) {
                OnnxTensor t = (OnnxTensor) r.get(s.name()).orElseThrow();
                long[] shape = t.getInfo().getShape();
                if (!java.util.Arrays.equals(shape, s.shape())) {
                    sb.append(" ").append(s.name()).append(" SHAPE ").append(java.util.Arrays.toString(shape))
                      .append(" != ").append(java.util.Arrays.toString(s.shape()));
                    failures++;
                    continue;
                }
                java.nio.FloatBuffer got = t.getFloatBuffer();
                java.nio.FloatBuffer exp = read(dir.resolve(s.file())).asFloatBuffer();
                double maxAbs = 0, maxRef = 0;
                for (int i = 0; i < exp.capacity(); i++) {
                    maxAbs = Math.max(maxAbs, Math.abs(got.get(i) - exp.get(i)));
                    maxRef = Math.max(maxRef, Math.abs(exp.get(i)));
                }
                boolean ok = maxAbs <= tol * Math.max(1.0, maxRef);
                if (!ok) failures++;
                sb.append(String.format(" %s%s max|d|=%.2e (max|ref|=%.2f)%s", s.name(),
                        java.util.Arrays.toString(shape), maxAbs, maxRef, ok ? "" : " FAIL"));
            }
            System.out.println(sb);
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
        return failures;
    }

    static ByteBuffer read(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        ByteBuffer bb = ByteBuffer.allocateDirect(b.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(b).flip();
        return bb;
    }
}
