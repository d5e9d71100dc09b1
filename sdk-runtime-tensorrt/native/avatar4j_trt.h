/*
 * avatar4j_trt.h - the plain C ABI of avatar4j's TensorRT shim.
 *
 * Implemented over TensorRT 10 and the CUDA runtime by avatar4j_trt.cpp, and by a test double in
 * testdouble/ (same ABI, no GPU). Java binds this header with jextract (regenerate-bindings.sh).
 *
 * Conventions
 *  - Handles are opaque pointers. Every *_destroy accepts NULL.
 *  - Every fallible function returns an a4j status (A4J_OK == 0) and writes a NUL-terminated,
 *    possibly truncated message into (err, err_cap) when it fails. No C++ exception crosses this ABI.
 *    The message buffer is an argument (not thread-local state) so callers on any thread - including
 *    Java virtual threads that move between carrier threads - get their own message.
 *  - Shapes are at most A4J_MAX_DIMS dimensions; -1 marks a dynamic dimension.
 *  - The logger callback may be called from any thread, including TensorRT's worker threads, and
 *    must not unwind (return normally).
 */
#ifndef AVATAR4J_TRT_H
#define AVATAR4J_TRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define A4J_ABI_VERSION 2
#define A4J_MAX_DIMS 8

/* status codes */
#define A4J_OK 0
#define A4J_ERR_INVALID_ARGUMENT 1
#define A4J_ERR_CUDA 2
#define A4J_ERR_TENSORRT 3
#define A4J_ERR_OUT_OF_MEMORY 4
#define A4J_ERR_NOT_FOUND 5
#define A4J_ERR_INTERNAL 6

/* element types (same numbers as nvinfer1::DataType) */
#define A4J_DT_FLOAT 0
#define A4J_DT_HALF 1
#define A4J_DT_INT8 2
#define A4J_DT_INT32 3
#define A4J_DT_BOOL 4
#define A4J_DT_UINT8 5
#define A4J_DT_FP8 6
#define A4J_DT_BF16 7
#define A4J_DT_INT64 8
#define A4J_DT_INT4 9

/* log severities (same numbers as nvinfer1::ILogger::Severity) */
#define A4J_LOG_INTERNAL_ERROR 0
#define A4J_LOG_ERROR 1
#define A4J_LOG_WARNING 2
#define A4J_LOG_INFO 3
#define A4J_LOG_VERBOSE 4

/* builder flags (none: FP32 kernels only) */
#define A4J_BUILD_FP16 1
#define A4J_BUILD_BF16 2

typedef struct a4j_logger a4j_logger;
typedef struct a4j_runtime a4j_runtime;
typedef struct a4j_engine a4j_engine;
typedef struct a4j_context a4j_context;
typedef struct a4j_stream a4j_stream;
typedef struct a4j_blob a4j_blob;

/* Receives every message of at least the logger's minimum severity. */
typedef void (*a4j_log_fn)(void* user, int32_t severity, const char* message);

/* Optimisation-profile range of one dynamic input, for the builder. */
typedef struct a4j_shape_range {
    const char* name;
    int32_t rank;
    int64_t min[A4J_MAX_DIMS];
    int64_t opt[A4J_MAX_DIMS];
    int64_t max[A4J_MAX_DIMS];
} a4j_shape_range;

/* Versions and devices */
int32_t a4j_abi_version(void);
int32_t a4j_versions(int32_t* tensorrt_version, int32_t* cuda_runtime_version, char* err, size_t err_cap);
int32_t a4j_device_count(int32_t* count, char* err, size_t err_cap);
int32_t a4j_device_info(int32_t device, int32_t* cc_major, int32_t* cc_minor, char* name, size_t name_cap,
                        char* err, size_t err_cap);

/* Logger bridge */
int32_t a4j_logger_create(a4j_log_fn fn, void* user, int32_t min_severity, a4j_logger** out,
                          char* err, size_t err_cap);
void a4j_logger_destroy(a4j_logger* logger);

/* Runtime and engines */
int32_t a4j_runtime_create(a4j_logger* logger, a4j_runtime** out, char* err, size_t err_cap);
void a4j_runtime_destroy(a4j_runtime* runtime);
int32_t a4j_engine_deserialize(a4j_runtime* runtime, const void* plan, size_t plan_size, a4j_engine** out,
                               char* err, size_t err_cap);
void a4j_engine_destroy(a4j_engine* engine);
int32_t a4j_engine_serialize(a4j_engine* engine, a4j_blob** out, char* err, size_t err_cap);

/*
 * Builds a serialized engine from an ONNX file. Every dynamic dimension of an input named in
 * ranges takes that range; a dynamic dimension of any other input takes
 * (default_min, default_opt, default_max). flags: A4J_BUILD_FP16 and/or A4J_BUILD_BF16 (TensorRT may pick
 * kernels of that type; without a flag the engine is FP32). workspace_bytes 0 = TensorRT's default.
 */
int32_t a4j_build_from_onnx(a4j_logger* logger, const char* onnx_path, int32_t flags,
                            const a4j_shape_range* ranges, int32_t range_count,
                            int64_t default_min, int64_t default_opt, int64_t default_max,
                            size_t workspace_bytes, a4j_blob** out, char* err, size_t err_cap);

/* Host blobs (serialized engines) */
const void* a4j_blob_data(const a4j_blob* blob);
size_t a4j_blob_size(const a4j_blob* blob);
void a4j_blob_destroy(a4j_blob* blob);

/* Engine I/O */
int32_t a4j_engine_io_count(a4j_engine* engine, int32_t* count, char* err, size_t err_cap);
int32_t a4j_engine_io_info(a4j_engine* engine, int32_t index, char* name, size_t name_cap, int32_t* is_input,
                           int32_t* dtype, int32_t* rank, int64_t* dims, char* err, size_t err_cap);

/* Execution contexts */
int32_t a4j_context_create(a4j_engine* engine, a4j_context** out, char* err, size_t err_cap);
void a4j_context_destroy(a4j_context* context);
int32_t a4j_context_set_input_shape(a4j_context* context, const char* name, int32_t rank, const int64_t* dims,
                                    char* err, size_t err_cap);
int32_t a4j_context_tensor_shape(a4j_context* context, const char* name, int32_t* rank, int64_t* dims,
                                 char* err, size_t err_cap);
int32_t a4j_context_set_tensor_address(a4j_context* context, const char* name, void* device_address,
                                       char* err, size_t err_cap);
int32_t a4j_context_enqueue(a4j_context* context, a4j_stream* stream, char* err, size_t err_cap);

/* Streams and device memory */
int32_t a4j_stream_create(a4j_stream** out, char* err, size_t err_cap);
int32_t a4j_stream_synchronize(a4j_stream* stream, char* err, size_t err_cap);
void a4j_stream_destroy(a4j_stream* stream);
int32_t a4j_device_malloc(size_t bytes, void** out, char* err, size_t err_cap);
void a4j_device_free(void* device_address);
int32_t a4j_memcpy_htod_async(void* device_dst, const void* host_src, size_t bytes, a4j_stream* stream,
                              char* err, size_t err_cap);
int32_t a4j_memcpy_dtoh_async(void* host_dst, const void* device_src, size_t bytes, a4j_stream* stream,
                              char* err, size_t err_cap);
/* Device-resident tensors (ABI 2): copies and fills that never touch the host, ordered on the stream. */
int32_t a4j_memcpy_dtod_async(void* device_dst, const void* device_src, size_t bytes, a4j_stream* stream,
                              char* err, size_t err_cap);
int32_t a4j_memset_async(void* device_dst, int32_t value, size_t bytes, a4j_stream* stream, char* err, size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif /* AVATAR4J_TRT_H */
