package dev.avatar4j.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a golden-number file written by a {@code tools/*_golden.py} script: one record per line,
 * {@code key: v1 v2 …}, {@code #} comments. Values are parsed as doubles ({@code inf}/{@code -inf}
 * allowed), so float32 values printed with Python's repr round-trip exactly through {@code (float)}.
 */
public final class Golden {

    private final String resource;
    private final Map<String, double[]> records;

    private Golden(String resource, Map<String, double[]> records) {
        this.resource = resource;
        this.records = records;
    }

    /**
     * Loads a classpath resource.
     *
     * @param resource absolute resource name, e.g. {@code /golden/longcat-golden.txt}
     * @return the records
     */
    public static Golden load(String resource) {
        try (InputStream in = Golden.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("golden resource missing: " + resource);
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            Map<String, double[]> map = new HashMap<>();
            for (String line : text.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int colon = line.indexOf(':');
                String key = line.substring(0, colon).strip();
                String[] parts = line.substring(colon + 1).strip().split("\\s+");
                double[] v = new double[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    v[i] = switch (parts[i]) {
                        case "inf" -> Double.POSITIVE_INFINITY;
                        case "-inf" -> Double.NEGATIVE_INFINITY;
                        case "nan" -> Double.NaN;
                        default -> Double.parseDouble(parts[i]);
                    };
                }
                map.put(key, v);
            }
            return new Golden(resource, map);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One record as doubles.
     *
     * @param key record key
     * @return its values
     */
    public double[] doubles(String key) {
        double[] v = records.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no record '" + key + "' in " + resource);
        }
        return v.clone();
    }

    /**
     * One record as float32 values.
     *
     * @param key record key
     * @return its values, each cast to float
     */
    public float[] floats(String key) {
        double[] d = doubles(key);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /**
     * One record as ints.
     *
     * @param key record key
     * @return its values
     */
    public int[] ints(String key) {
        double[] d = doubles(key);
        int[] r = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            r[i] = (int) d[i];
        }
        return r;
    }

    /**
     * One scalar record.
     *
     * @param key record key
     * @return its only value
     */
    public double scalar(String key) {
        double[] d = doubles(key);
        if (d.length != 1) {
            throw new IllegalArgumentException("record '" + key + "' has " + d.length + " values");
        }
        return d[0];
    }
}
