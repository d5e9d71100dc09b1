package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed, path-aware access to a parsed JSON object, so that every manifest error names the
 * offending key, e.g. {@code avatar-bundle.json: "video.width" must be an integer}.
 */
public final class JsonObject {
    private final String file;
    private final String path;
    private final Map<String, Object> map;

    JsonObject(String file, String path, Map<String, Object> map) {
        this.file = file;
        this.path = path;
        this.map = map;
    }

    private String key(String k) {
        return path.isEmpty() ? k : path + "." + k;
    }

    private BundleException error(String k, String what) {
        return new BundleException(file + ": \"" + key(k) + "\" " + what);
    }

    /** Whether key {@code k} is present and not {@code null}. */
    public boolean has(String k) {
        return map.containsKey(k) && map.get(k) != null;
    }

    public java.util.Set<String> keys() {
        return map.keySet();
    }

    public String string(String k) {
        Object v = map.get(k);
        if (v == null) {
            throw error(k, "is missing");
        }
        if (!(v instanceof String s)) {
            throw error(k, "must be a string");
        }
        return s;
    }

    public Optional<String> optString(String k) {
        return has(k) ? Optional.of(string(k)) : Optional.empty();
    }

    public int integer(String k) {
        Object v = map.get(k);
        if (v == null) {
            throw error(k, "is missing");
        }
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
                || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
            throw error(k, "must be an integer");
        }
        return n.intValue();
    }

    /** An integer in the range of {@code long}; fractions, exponents beyond it and floats are refused. */
    public long longInteger(String k) {
        Object v = map.get(k);
        if (v == null) {
            throw error(k, "is missing");
        }
        if (!(v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte)) {
            throw error(k, "must be an integer within 64 bits");
        }
        return ((Number) v).longValue();
    }

    public int integer(String k, int def) {
        return has(k) ? integer(k) : def;
    }

    public double number(String k) {
        Object v = map.get(k);
        if (v == null) {
            throw error(k, "is missing");
        }
        if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) {
            throw error(k, "must be a finite number");
        }
        return n.doubleValue();
    }

    public double number(String k, double def) {
        return has(k) ? number(k) : def;
    }

    @SuppressWarnings("unchecked")
    public JsonObject object(String k) {
        Object v = map.get(k);
        if (v == null) {
            throw error(k, "is missing");
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw error(k, "must be an object");
        }
        return new JsonObject(file, key(k), (Map<String, Object>) m);
    }

    public Optional<JsonObject> optObject(String k) {
        return has(k) ? Optional.of(object(k)) : Optional.empty();
    }

    @SuppressWarnings("unchecked")
    public List<JsonObject> objects(String k) {
        Object v = map.get(k);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw error(k, "must be an array");
        }
        java.util.ArrayList<JsonObject> out = new java.util.ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof Map<?, ?> m)) {
                throw error(k + "[" + i + "]", "must be an object");
            }
            out.add(new JsonObject(file, key(k) + "[" + i + "]", (Map<String, Object>) m));
        }
        return out;
    }

    public int[] integers(String k) {
        Object v = map.get(k);
        if (!(v instanceof List<?> l)) {
            throw error(k, v == null ? "is missing" : "must be an array of integers");
        }
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
                    || Math.abs(n.doubleValue()) > Integer.MAX_VALUE) {
                throw error(k, "must be an array of integers");
            }
            out[i] = n.intValue();
        }
        return out;
    }
}
