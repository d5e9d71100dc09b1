/*
 * avatar4j_trt_fake.c - a test double of the avatar4j TensorRT shim: the same ABI (avatar4j_trt.h),
 * no GPU. It lets the Java layer be tested through real FFM calls, real memory and real errors.
 *
 * - "Device" memory is host memory from malloc, registered so that copies and kernels check every
 *   pointer and tests can assert that nothing leaks.
 * - Every handle is registered while alive; a call with a destroyed handle is counted as misuse and
 *   answered with an error instead of touching freed memory.
 * - An "engine plan" is text. A fake "ONNX file" is the same text; building one appends the profile
 *   and the precision, so a test can see what the builder was given:
 *
 *     A4JFAKE
 *     input  <name> <dtype> <rank> <dims...>        dims: -1 = dynamic
 *     output <name> <dtype> <rank> <dims...> affine <src> <scale-input> <bias>
 *                                                     out[i] = src[i] * scale[0] + bias  (float32)
 *     output <name> <dtype> <rank> <dims...> add <src> <bias>
 *                                                     out[i] = src[i] + bias, src's shape  (float32)
 *     output <name> <dtype> <rank> <dims...> fill <src> <bias>
 *                                                     out[i] = src[0] + bias, the declared (static) shape
 *     output <name> 8 1 1 count <src>                 element count of src (int64)
 *     fail <message>                                  every enqueue fails with this message
 *
 * The network text may also sit inside a file with other bytes before it (e.g. in the doc_string of
 * an ONNX ModelProto, so that a bundle loader can parse the file): it starts at "A4JFAKE".
 *
 * Test-only entry points (a4j_fake_*) expose the accounting (live handles and memory, and the bytes
 * every copy moved host to device, device to host and device to device) and a gate that holds enqueues.
 */
#include "../avatar4j_trt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IO 80
#define NAME_LEN 64

enum { H_LOGGER = 1, H_RUNTIME, H_ENGINE, H_CONTEXT, H_STREAM, H_BLOB };

typedef struct io {
    char name[NAME_LEN];
    int32_t is_input;
    int32_t dtype;
    int32_t rank;
    int64_t dims[A4J_MAX_DIMS];
    int op; /* 0 none, 1 affine, 2 count, 3 add, 4 fill */
    int src, scale;
    float bias;
} io;

struct a4j_logger { a4j_log_fn fn; void* user; int32_t min; };
struct a4j_runtime { a4j_logger* logger; };
struct a4j_engine { a4j_runtime* runtime; int n; io ios[MAX_IO]; char fail[256]; int64_t pmax; char* plan; size_t plan_size; };
struct a4j_context {
    a4j_engine* engine;
    int shape_set[MAX_IO];
    int64_t shape[MAX_IO][A4J_MAX_DIMS];
    void* addr[MAX_IO];
};
struct a4j_stream { int unused; };
struct a4j_blob { char* data; size_t size; };

/* ---------- registries ---------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;

typedef struct handle { void* p; int type; struct handle* next; } handle;
typedef struct alloc { char* p; size_t n; struct alloc* next; } alloc;
static handle* handles;
static alloc* allocs;
static long live_handles, misuse, builds, in_enqueue, enqueues;
static long long live_bytes, htod_bytes, dtoh_bytes, dtod_bytes;
static long live_allocs;
static int device_count = 1;
static int hold;

static void reg(void* p, int type) {
    handle* h = malloc(sizeof *h);
    h->p = p; h->type = type;
    pthread_mutex_lock(&mu);
    h->next = handles; handles = h; live_handles++;
    pthread_mutex_unlock(&mu);
}

static int unreg(void* p, int type) {
    int found = 0;
    pthread_mutex_lock(&mu);
    for (handle** h = &handles; *h; h = &(*h)->next) {
        if ((*h)->p == p && (*h)->type == type) {
            handle* dead = *h; *h = dead->next; free(dead); live_handles--; found = 1;
            break;
        }
    }
    if (!found) misuse++;
    pthread_mutex_unlock(&mu);
    return found;
}

static int alive(const void* p, int type) {
    int found = 0;
    pthread_mutex_lock(&mu);
    for (handle* h = handles; h; h = h->next) {
        if (h->p == p && h->type == type) { found = 1; break; }
    }
    if (!found) misuse++;
    pthread_mutex_unlock(&mu);
    return found;
}

/* Size of the live allocation containing [p, p+n), or -1. */
static int device_range_ok(const void* p, size_t n) {
    int ok = 0;
    pthread_mutex_lock(&mu);
    for (alloc* a = allocs; a; a = a->next) {
        if ((const char*)p >= a->p && (const char*)p + n <= a->p + a->n) { ok = 1; break; }
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

static int32_t fail(char* err, size_t cap, int32_t code, const char* fmt, ...) {
    if (err != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void logmsg(a4j_logger* l, int32_t severity, const char* msg) {
    if (l != NULL && severity <= l->min) l->fn(l->user, severity, msg);
}

typedef struct { a4j_logger* l; int32_t severity; const char* msg; } thread_log;

static void* log_thread(void* arg) {
    thread_log* t = arg;
    logmsg(t->l, t->severity, t->msg);
    return NULL;
}

/* Logs from a fresh native thread (TensorRT logs from its worker threads too). */
static void log_from_thread(a4j_logger* l, int32_t severity, const char* msg) {
    thread_log t = {l, severity, msg};
    pthread_t th;
    if (pthread_create(&th, NULL, log_thread, &t) == 0) pthread_join(th, NULL);
}

/* ---------- plans ---------- */

static int find_io(const a4j_engine* e, const char* name) {
    for (int i = 0; i < e->n; i++) if (strcmp(e->ios[i].name, name) == 0) return i;
    return -1;
}

static int parse_plan(a4j_engine* e, const char* text, size_t size, char* err, size_t cap) {
    if (size < 7 || memcmp(text, "A4JFAKE", 7) != 0) {
        return fail(err, cap, A4J_ERR_TENSORRT, "deserializeCudaEngine failed for a %zu-byte plan (not a test-double plan)", size);
    }
    char* copy = malloc(size + 1);
    memcpy(copy, text, size); copy[size] = 0;
    int32_t rc = A4J_OK;
    char* save = NULL;
    e->pmax = -1;
    for (char* line = strtok_r(copy, "\n", &save); line && rc == A4J_OK; line = strtok_r(NULL, "\n", &save)) {
        char kind[16], name[NAME_LEN], opname[16], a[NAME_LEN], b[NAME_LEN];
        int dtype, rank, off = 0;
        if (sscanf(line, "%15s", kind) != 1 || strcmp(kind, "A4JFAKE") == 0 || kind[0] == '#') continue;
        if (strcmp(kind, "fail") == 0) { snprintf(e->fail, sizeof e->fail, "%s", line + 5); continue; }
        if (strcmp(kind, "profile") == 0) { long long mn, op, mx; if (sscanf(line, "profile default %lld %lld %lld", &mn, &op, &mx) == 3) e->pmax = mx; continue; }
        if (strcmp(kind, "range") == 0 || strcmp(kind, "precision") == 0) continue;
        if (e->n >= MAX_IO || sscanf(line, "%15s %63s %d %d%n", kind, name, &dtype, &rank, &off) != 4 || rank < 0 || rank > A4J_MAX_DIMS) {
            rc = fail(err, cap, A4J_ERR_TENSORRT, "bad test-double plan line: %s", line);
            break;
        }
        io* t = &e->ios[e->n];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->is_input = strcmp(kind, "input") == 0;
        t->dtype = dtype; t->rank = rank;
        const char* p = line + off;
        for (int k = 0; k < rank; k++) {
            int used = 0; long long d;
            if (sscanf(p, "%lld%n", &d, &used) != 1) { rc = fail(err, cap, A4J_ERR_TENSORRT, "bad dims: %s", line); break; }
            t->dims[k] = d; p += used;
        }
        if (rc != A4J_OK) break;
        if (!t->is_input) {
            float bias = 0;
            int n = sscanf(p, "%15s %63s %63s %f", opname, a, b, &bias);
            if (n >= 2 && strcmp(opname, "count") == 0) { t->op = 2; t->src = find_io(e, a); }
            else if (n >= 3 && (strcmp(opname, "add") == 0 || strcmp(opname, "fill") == 0)) {
                t->op = strcmp(opname, "add") == 0 ? 3 : 4; t->src = find_io(e, a); t->bias = strtof(b, NULL);
                for (int k = 0; t->op == 4 && k < t->rank; k++) {
                    if (t->dims[k] < 1) { rc = fail(err, cap, A4J_ERR_TENSORRT, "fill needs a static shape: %s", line); break; }
                }
                if (rc != A4J_OK) break;
            }
            else if (n == 4 && strcmp(opname, "affine") == 0) { t->op = 1; t->src = find_io(e, a); t->scale = find_io(e, b); t->bias = bias; }
            if (t->op == 0 || t->src < 0 || (t->op == 1 && t->scale < 0)) { rc = fail(err, cap, A4J_ERR_TENSORRT, "bad output op: %s", line); break; }
        }
        e->n++;
    }
    free(copy);
    return rc;
}

/* ---------- versions, devices, logger ---------- */

int32_t a4j_abi_version(void) { return A4J_ABI_VERSION; }

int32_t a4j_versions(int32_t* trt, int32_t* cuda, char* err, size_t cap) {
    (void)err; (void)cap;
    if (trt) *trt = 101500;
    if (cuda) *cuda = 12080;
    return A4J_OK;
}

int32_t a4j_device_count(int32_t* count, char* err, size_t cap) {
    if (device_count < 0) return fail(err, cap, A4J_ERR_CUDA, "cudaGetDeviceCount: cudaErrorNoDevice (no CUDA-capable device is detected)");
    *count = device_count;
    return A4J_OK;
}

int32_t a4j_device_info(int32_t device, int32_t* major, int32_t* minor, char* name, size_t name_cap, char* err, size_t cap) {
    if (device < 0 || device >= device_count) return fail(err, cap, A4J_ERR_CUDA, "cudaGetDeviceProperties: cudaErrorInvalidDevice (invalid device ordinal %d)", device);
    *major = 8; *minor = 9;
    if (name && name_cap) snprintf(name, name_cap, "avatar4j test double GPU");
    return A4J_OK;
}

int32_t a4j_logger_create(a4j_log_fn fn, void* user, int32_t min, a4j_logger** out, char* err, size_t cap) {
    if (fn == NULL || out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "logger: callback and out must not be NULL");
    a4j_logger* l = malloc(sizeof *l);
    l->fn = fn; l->user = user; l->min = min;
    reg(l, H_LOGGER);
    *out = l;
    return A4J_OK;
}

void a4j_logger_destroy(a4j_logger* l) { if (l && unreg(l, H_LOGGER)) free(l); }

/* ---------- runtime, engines ---------- */

int32_t a4j_runtime_create(a4j_logger* l, a4j_runtime** out, char* err, size_t cap) {
    if (out == NULL || !alive(l, H_LOGGER)) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "runtime: bad logger");
    a4j_runtime* r = malloc(sizeof *r);
    r->logger = l;
    reg(r, H_RUNTIME);
    logmsg(l, A4J_LOG_INFO, "test double runtime created");
    *out = r;
    return A4J_OK;
}

void a4j_runtime_destroy(a4j_runtime* r) { if (r && unreg(r, H_RUNTIME)) free(r); }

int32_t a4j_engine_deserialize(a4j_runtime* r, const void* plan, size_t size, a4j_engine** out, char* err, size_t cap) {
    if (!alive(r, H_RUNTIME) || plan == NULL || out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "deserialize: bad argument");
    a4j_engine* e = calloc(1, sizeof *e);
    int32_t rc = parse_plan(e, plan, size, err, cap);
    if (rc != A4J_OK) {
        logmsg(r->logger, A4J_LOG_ERROR, "test double: plan rejected");
        free(e);
        return rc;
    }
    e->runtime = r;
    e->plan = malloc(size); memcpy(e->plan, plan, size); e->plan_size = size;
    reg(e, H_ENGINE);
    *out = e;
    return A4J_OK;
}

void a4j_engine_destroy(a4j_engine* e) { if (e && unreg(e, H_ENGINE)) { free(e->plan); free(e); } }

static a4j_blob* new_blob(const char* data, size_t size) {
    a4j_blob* b = malloc(sizeof *b);
    b->data = malloc(size ? size : 1); memcpy(b->data, data, size); b->size = size;
    reg(b, H_BLOB);
    return b;
}

int32_t a4j_engine_serialize(a4j_engine* e, a4j_blob** out, char* err, size_t cap) {
    if (!alive(e, H_ENGINE) || out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "serialize: bad argument");
    *out = new_blob(e->plan, e->plan_size);
    return A4J_OK;
}

int32_t a4j_build_from_onnx(a4j_logger* l, const char* path, int32_t flags, const a4j_shape_range* ranges, int32_t n_ranges,
                            int64_t dmin, int64_t dopt, int64_t dmax, size_t workspace, a4j_blob** out, char* err, size_t cap) {
    (void)workspace;
    if (!alive(l, H_LOGGER) || path == NULL || out == NULL || (n_ranges > 0 && ranges == NULL)) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "build: NULL argument");
    FILE* f = fopen(path, "rb");
    if (f == NULL) return fail(err, cap, A4J_ERR_TENSORRT, "ONNX parser rejected %s; cannot open the file", path);
    static char raw[65536];
    char* buf;
    size_t n;
    pthread_mutex_lock(&mu); /* raw is shared; builds are rare */
    n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    char* at = memmem(raw, n, "A4JFAKE", 7);
    buf = malloc(n + 1);
    if (at != NULL) { n -= (size_t)(at - raw); memcpy(buf, at, n); } else { memcpy(buf, raw, n); }
    pthread_mutex_unlock(&mu);
    a4j_engine probe;
    memset(&probe, 0, sizeof probe);
    if (parse_plan(&probe, buf, n, NULL, 0) != A4J_OK) { free(buf); return fail(err, cap, A4J_ERR_TENSORRT, "ONNX parser rejected %s; not a test-double network", path); }
    for (int32_t r = 0; r < n_ranges; r++) {
        int i = ranges[r].name ? find_io(&probe, ranges[r].name) : -1;
        if (i < 0 || !probe.ios[i].is_input) { free(buf); return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "profile names unknown input '%s'", ranges[r].name ? ranges[r].name : "(null)"); }
        if (ranges[r].rank != probe.ios[i].rank) { free(buf); return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "profile for input '%s' has rank %d but the graph declares rank %d", ranges[r].name, ranges[r].rank, probe.ios[i].rank); }
    }
    log_from_thread(l, A4J_LOG_INFO, "test double builder: optimising on a worker thread");
    char* text = malloc(n + 512 + 600 * (size_t)(n_ranges > 0 ? n_ranges : 0));
    size_t len = 0;
    memcpy(text, buf, n); len = n;
    if (len && text[len - 1] != '\n') text[len++] = '\n';
    len += sprintf(text + len, "precision %s\nprofile default %lld %lld %lld\n",
                   (flags & A4J_BUILD_FP16) ? ((flags & A4J_BUILD_BF16) ? "fp16+bf16" : "fp16") : (flags & A4J_BUILD_BF16) ? "bf16" : "fp32",
                   (long long)dmin, (long long)dopt, (long long)dmax);
    for (int32_t r = 0; r < n_ranges; r++) {
        len += sprintf(text + len, "range %.60s %d", ranges[r].name, ranges[r].rank);
        for (int k = 0; k < ranges[r].rank; k++) len += sprintf(text + len, " %lld:%lld:%lld", (long long)ranges[r].min[k],
                                                               (long long)ranges[r].opt[k], (long long)ranges[r].max[k]);
        text[len++] = '\n';
    }
    pthread_mutex_lock(&mu); builds++; pthread_mutex_unlock(&mu);
    *out = new_blob(text, len);
    free(text);
    free(buf);
    return A4J_OK;
}

const void* a4j_blob_data(const a4j_blob* b) { return b ? b->data : NULL; }
size_t a4j_blob_size(const a4j_blob* b) { return b ? b->size : 0; }
void a4j_blob_destroy(a4j_blob* b) { if (b && unreg(b, H_BLOB)) { free(b->data); free(b); } }

int32_t a4j_engine_io_count(a4j_engine* e, int32_t* count, char* err, size_t cap) {
    if (!alive(e, H_ENGINE) || count == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "io count: bad engine");
    *count = e->n;
    return A4J_OK;
}

int32_t a4j_engine_io_info(a4j_engine* e, int32_t index, char* name, size_t name_cap, int32_t* is_input, int32_t* dtype,
                           int32_t* rank, int64_t* dims, char* err, size_t cap) {
    if (!alive(e, H_ENGINE)) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "io info: bad engine");
    if (index < 0 || index >= e->n) return fail(err, cap, A4J_ERR_NOT_FOUND, "io info: no tensor #%d", index);
    const io* t = &e->ios[index];
    if (name && name_cap) snprintf(name, name_cap, "%s", t->name);
    *is_input = t->is_input; *dtype = t->dtype; *rank = t->rank;
    for (int k = 0; k < t->rank; k++) dims[k] = t->dims[k];
    return A4J_OK;
}

/* ---------- contexts ---------- */

int32_t a4j_context_create(a4j_engine* e, a4j_context** out, char* err, size_t cap) {
    if (!alive(e, H_ENGINE) || out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "context: bad engine");
    a4j_context* c = calloc(1, sizeof *c);
    c->engine = e;
    reg(c, H_CONTEXT);
    *out = c;
    return A4J_OK;
}

void a4j_context_destroy(a4j_context* c) { if (c && unreg(c, H_CONTEXT)) free(c); }

static void dims_text(char* buf, size_t cap, int32_t rank, const int64_t* d) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < rank && len < cap; k++) len += (size_t)snprintf(buf + len, cap - len, "%s%lld", k ? "," : "", (long long)d[k]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

int32_t a4j_context_set_input_shape(a4j_context* c, const char* name, int32_t rank, const int64_t* dims, char* err, size_t cap) {
    if (!alive(c, H_CONTEXT) || name == NULL || dims == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "set input shape: bad argument");
    int i = find_io(c->engine, name);
    if (i < 0 || !c->engine->ios[i].is_input) return fail(err, cap, A4J_ERR_NOT_FOUND, "no input tensor '%s'", name);
    const io* t = &c->engine->ios[i];
    int ok = rank == t->rank;
    for (int k = 0; ok && k < rank; k++) {
        ok = dims[k] >= 1 && (t->dims[k] < 0 ? (c->engine->pmax < 0 || dims[k] <= c->engine->pmax) : dims[k] == t->dims[k]);
    }
    if (!ok) {
        char txt[128];
        dims_text(txt, sizeof txt, rank, dims);
        return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "shape %s rejected for input '%s' (outside the engine's optimisation profile?)", txt, name);
    }
    for (int k = 0; k < rank; k++) c->shape[i][k] = dims[k];
    c->shape_set[i] = 1;
    return A4J_OK;
}

/* The current shape of tensor i; 0 when a dynamic input has no shape yet. */
static int resolve(const a4j_context* c, int i, int64_t* out) {
    const io* t = &c->engine->ios[i];
    if (t->is_input) {
        for (int k = 0; k < t->rank; k++) {
            if (c->shape_set[i]) out[k] = c->shape[i][k];
            else if (t->dims[k] < 0) return 0;
            else out[k] = t->dims[k];
        }
        return 1;
    }
    if (t->op == 2) { out[0] = 1; return 1; }
    if (t->op == 4) { for (int k = 0; k < t->rank; k++) out[k] = t->dims[k]; return 1; }
    return resolve(c, t->src, out);
}

int32_t a4j_context_tensor_shape(a4j_context* c, const char* name, int32_t* rank, int64_t* dims, char* err, size_t cap) {
    if (!alive(c, H_CONTEXT) || name == NULL || rank == NULL || dims == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "tensor shape: bad argument");
    int i = find_io(c->engine, name);
    if (i < 0) return fail(err, cap, A4J_ERR_NOT_FOUND, "no tensor '%s'", name);
    *rank = c->engine->ios[i].rank;
    if (!resolve(c, i, dims)) {
        for (int k = 0; k < *rank; k++) dims[k] = c->engine->ios[i].dims[k];
    }
    return A4J_OK;
}

int32_t a4j_context_set_tensor_address(a4j_context* c, const char* name, void* address, char* err, size_t cap) {
    if (!alive(c, H_CONTEXT) || name == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "set tensor address: bad argument");
    int i = find_io(c->engine, name);
    if (i < 0) return fail(err, cap, A4J_ERR_NOT_FOUND, "address rejected for tensor '%s'", name);
    c->addr[i] = address;
    return A4J_OK;
}

static size_t dtype_size(int32_t dt) {
    switch (dt) {
        case A4J_DT_FLOAT: case A4J_DT_INT32: return 4;
        case A4J_DT_HALF: case A4J_DT_BF16: return 2;
        case A4J_DT_INT64: return 8;
        default: return 1;
    }
}

static int64_t count_of(int32_t rank, const int64_t* d) { int64_t n = 1; for (int k = 0; k < rank; k++) n *= d[k]; return n; }

int32_t a4j_context_enqueue(a4j_context* c, a4j_stream* s, char* err, size_t cap) {
    if (!alive(c, H_CONTEXT) || !alive(s, H_STREAM)) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "enqueue: bad context or stream");
    pthread_mutex_lock(&mu);
    in_enqueue++;
    while (hold) pthread_cond_wait(&gate_cv, &mu);
    pthread_mutex_unlock(&mu);
    int32_t rc = A4J_OK;
    a4j_engine* e = c->engine;
    int64_t shp[MAX_IO][A4J_MAX_DIMS];
    if (e->fail[0]) {
        logmsg(e->runtime->logger, A4J_LOG_ERROR, e->fail);
        rc = fail(err, cap, A4J_ERR_TENSORRT, "%s", e->fail);
    }
    for (int i = 0; rc == A4J_OK && i < e->n; i++) {
        if (!resolve(c, i, shp[i])) rc = fail(err, cap, A4J_ERR_TENSORRT, "input '%s' has dynamic dimensions but no shape was set", e->ios[i].name);
        else if (c->addr[i] == NULL) rc = fail(err, cap, A4J_ERR_TENSORRT, "tensor '%s' has no address", e->ios[i].name);
        else if (!device_range_ok(c->addr[i], (size_t)count_of(e->ios[i].rank, shp[i]) * dtype_size(e->ios[i].dtype)))
            rc = fail(err, cap, A4J_ERR_CUDA, "tensor '%s': cudaErrorIllegalAddress (address is not a large enough device allocation)", e->ios[i].name);
    }
    for (int i = 0; rc == A4J_OK && i < e->n; i++) {
        const io* t = &e->ios[i];
        if (t->is_input) continue;
        int64_t n = count_of(t->rank, shp[i]);
        if (t->op == 1) {
            const float* x = c->addr[t->src];
            float scale = ((const float*)c->addr[t->scale])[0];
            float* y = c->addr[i];
            for (int64_t k = 0; k < n; k++) y[k] = x[k] * scale + t->bias;
        } else if (t->op == 3) {
            const float* x = c->addr[t->src];
            float* y = c->addr[i];
            for (int64_t k = 0; k < n; k++) y[k] = x[k] + t->bias;
        } else if (t->op == 4) {
            float v = ((const float*)c->addr[t->src])[0] + t->bias;
            float* y = c->addr[i];
            for (int64_t k = 0; k < n; k++) y[k] = v;
        } else {
            *(int64_t*)c->addr[i] = count_of(e->ios[t->src].rank, shp[t->src]);
        }
    }
    pthread_mutex_lock(&mu);
    in_enqueue--;
    enqueues++;
    pthread_mutex_unlock(&mu);
    return rc;
}

/* ---------- streams, memory ---------- */

int32_t a4j_stream_create(a4j_stream** out, char* err, size_t cap) {
    if (out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "stream: NULL out");
    a4j_stream* s = calloc(1, sizeof *s);
    reg(s, H_STREAM);
    *out = s;
    return A4J_OK;
}

int32_t a4j_stream_synchronize(a4j_stream* s, char* err, size_t cap) {
    return alive(s, H_STREAM) ? A4J_OK : fail(err, cap, A4J_ERR_CUDA, "cudaStreamSynchronize: cudaErrorInvalidResourceHandle");
}

void a4j_stream_destroy(a4j_stream* s) { if (s && unreg(s, H_STREAM)) free(s); }

int32_t a4j_device_malloc(size_t bytes, void** out, char* err, size_t cap) {
    if (out == NULL) return fail(err, cap, A4J_ERR_INVALID_ARGUMENT, "malloc: NULL out");
    if (bytes > ((size_t)1 << 34)) return fail(err, cap, A4J_ERR_OUT_OF_MEMORY, "cudaMalloc: out of device memory allocating %zu bytes", bytes);
    alloc* a = malloc(sizeof *a);
    a->p = calloc(1, bytes ? bytes : 1); a->n = bytes;
    pthread_mutex_lock(&mu);
    a->next = allocs; allocs = a; live_bytes += (long long)bytes; live_allocs++;
    pthread_mutex_unlock(&mu);
    *out = a->p;
    return A4J_OK;
}

void a4j_device_free(void* p) {
    if (p == NULL) return;
    alloc* dead = NULL;
    pthread_mutex_lock(&mu);
    for (alloc** a = &allocs; *a; a = &(*a)->next) {
        if ((*a)->p == p) { dead = *a; *a = dead->next; live_bytes -= (long long)dead->n; live_allocs--; break; }
    }
    if (dead == NULL) misuse++;
    pthread_mutex_unlock(&mu);
    if (dead) { free(dead->p); free(dead); }
}

int32_t a4j_memcpy_htod_async(void* dst, const void* src, size_t n, a4j_stream* s, char* err, size_t cap) {
    if (!alive(s, H_STREAM)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync: cudaErrorInvalidResourceHandle");
    if (!device_range_ok(dst, n)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync(host to device): cudaErrorInvalidValue (%zu bytes outside a device allocation)", n);
    memcpy(dst, src, n);
    pthread_mutex_lock(&mu); htod_bytes += (long long)n; pthread_mutex_unlock(&mu);
    return A4J_OK;
}

int32_t a4j_memcpy_dtoh_async(void* dst, const void* src, size_t n, a4j_stream* s, char* err, size_t cap) {
    if (!alive(s, H_STREAM)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync: cudaErrorInvalidResourceHandle");
    if (!device_range_ok(src, n)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync(device to host): cudaErrorInvalidValue (%zu bytes outside a device allocation)", n);
    memcpy(dst, src, n);
    pthread_mutex_lock(&mu); dtoh_bytes += (long long)n; pthread_mutex_unlock(&mu);
    return A4J_OK;
}

int32_t a4j_memcpy_dtod_async(void* dst, const void* src, size_t n, a4j_stream* s, char* err, size_t cap) {
    if (!alive(s, H_STREAM)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync: cudaErrorInvalidResourceHandle");
    if (!device_range_ok(src, n) || !device_range_ok(dst, n)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemcpyAsync(device to device): cudaErrorInvalidValue (%zu bytes outside a device allocation)", n);
    memmove(dst, src, n);
    pthread_mutex_lock(&mu); dtod_bytes += (long long)n; pthread_mutex_unlock(&mu);
    return A4J_OK;
}

int32_t a4j_memset_async(void* dst, int32_t value, size_t n, a4j_stream* s, char* err, size_t cap) {
    if (!alive(s, H_STREAM)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemsetAsync: cudaErrorInvalidResourceHandle");
    if (!device_range_ok(dst, n)) return fail(err, cap, A4J_ERR_CUDA, "cudaMemsetAsync: cudaErrorInvalidValue (%zu bytes outside a device allocation)", n);
    memset(dst, value, n);
    return A4J_OK;
}

/* ---------- test-only accounting ---------- */

static long get(long* v) { pthread_mutex_lock(&mu); long r = *v; pthread_mutex_unlock(&mu); return r; }

long a4j_fake_live_handles(void) { return get(&live_handles); }
long a4j_fake_live_allocations(void) { return get(&live_allocs); }
long long a4j_fake_live_device_bytes(void) { pthread_mutex_lock(&mu); long long r = live_bytes; pthread_mutex_unlock(&mu); return r; }
long a4j_fake_misuse_count(void) { return get(&misuse); }
/* Bytes copied so far: direction 0 host to device, 1 device to host, 2 device to device. */
long long a4j_fake_copied_bytes(int32_t direction) {
    pthread_mutex_lock(&mu);
    long long r = direction == 0 ? htod_bytes : direction == 1 ? dtoh_bytes : dtod_bytes;
    pthread_mutex_unlock(&mu);
    return r;
}
long a4j_fake_build_count(void) { return get(&builds); }
long a4j_fake_in_enqueue(void) { return get(&in_enqueue); }
long a4j_fake_enqueue_count(void) { return get(&enqueues); }
void a4j_fake_set_device_count(int32_t n) { pthread_mutex_lock(&mu); device_count = n; pthread_mutex_unlock(&mu); }
void a4j_fake_hold_enqueue(int32_t on) {
    pthread_mutex_lock(&mu);
    hold = on;
    if (!on) pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&mu);
}
void a4j_fake_log_from_thread(a4j_logger* l, int32_t severity, const char* msg) { if (alive(l, H_LOGGER)) log_from_thread(l, severity, msg); }
