// avatar4j_trt.cpp - extern "C" shim over TensorRT 10 and the CUDA runtime (ABI: avatar4j_trt.h).
//
// Every entry point catches every C++ exception and turns it into a status code and a message, so
// nothing unwinds into the Java frames that called it through the Foreign Function API.

#include "avatar4j_trt.h"

#include <NvInfer.h>
#include <NvOnnxParser.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

void put(char* dst, size_t cap, const std::string& text) {
    if (dst == nullptr || cap == 0) {
        return;
    }
    size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
    std::memcpy(dst, text.data(), n);
    dst[n] = '\0';
}

int32_t fail(char* err, size_t cap, int32_t code, const std::string& message) {
    put(err, cap, message);
    return code;
}

int32_t cuda_fail(char* err, size_t cap, const char* what, cudaError_t e) {
    return fail(err, cap, A4J_ERR_CUDA,
                std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Runs body, mapping every C++ exception to a status code and message.
template <typename F>
int32_t guarded(char* err, size_t cap, const char* what, F&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(err, cap, A4J_ERR_OUT_OF_MEMORY, std::string(what) + ": out of host memory");
    } catch (const std::exception& e) {
        return fail(err, cap, A4J_ERR_INTERNAL, std::string(what) + ": " + e.what());
    } catch (...) {
        return fail(err, cap, A4J_ERR_INTERNAL, std::string(what) + ": unknown C++ exception");
    }
}

nvinfer1::Dims to_dims(int32_t rank, const int64_t* d) {
    nvinfer1::Dims dims{};
    dims.nbDims = rank;
    for (int32_t i = 0; i < rank; i++) {
        dims.d[i] = d[i];
    }
    return dims;
}

std::string dims_text(const nvinfer1::Dims& d) {
    std::string s = "[";
    for (int32_t i = 0; i < d.nbDims; i++) {
        s += (i ? "," : "") + std::to_string(static_cast<long long>(d.d[i]));
    }
    return s + "]";
}

}  // namespace

struct a4j_logger final : nvinfer1::ILogger {
    a4j_log_fn fn;
    void* user;
    int32_t min_severity;

    void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override {
        if (static_cast<int32_t>(severity) <= min_severity && fn != nullptr) {
            fn(user, static_cast<int32_t>(severity), msg == nullptr ? "" : msg);
        }
    }
};

struct a4j_runtime {
    std::unique_ptr<nvinfer1::IRuntime> runtime;
};

struct a4j_engine {
    std::unique_ptr<nvinfer1::ICudaEngine> engine;
};

struct a4j_context {
    std::unique_ptr<nvinfer1::IExecutionContext> context;
};

struct a4j_blob {
    std::unique_ptr<nvinfer1::IHostMemory> memory;
};

extern "C" {

int32_t a4j_abi_version(void) {
    return A4J_ABI_VERSION;
}

int32_t a4j_versions(int32_t* tensorrt_version, int32_t* cuda_runtime_version, char* err, size_t err_cap) {
    return guarded(err, err_cap, "versions", [&]() -> int32_t {
        if (tensorrt_version != nullptr) {
            *tensorrt_version = getInferLibVersion();
        }
        if (cuda_runtime_version != nullptr) {
            int v = 0;
            cudaError_t e = cudaRuntimeGetVersion(&v);
            if (e != cudaSuccess) {
                return cuda_fail(err, err_cap, "cudaRuntimeGetVersion", e);
            }
            *cuda_runtime_version = v;
        }
        return A4J_OK;
    });
}

int32_t a4j_device_count(int32_t* count, char* err, size_t err_cap) {
    return guarded(err, err_cap, "device count", [&]() -> int32_t {
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess) {
            return cuda_fail(err, err_cap, "cudaGetDeviceCount", e);
        }
        *count = n;
        return A4J_OK;
    });
}

int32_t a4j_device_info(int32_t device, int32_t* cc_major, int32_t* cc_minor, char* name, size_t name_cap,
                        char* err, size_t err_cap) {
    return guarded(err, err_cap, "device info", [&]() -> int32_t {
        cudaDeviceProp prop{};
        cudaError_t e = cudaGetDeviceProperties(&prop, device);
        if (e != cudaSuccess) {
            return cuda_fail(err, err_cap, "cudaGetDeviceProperties", e);
        }
        *cc_major = prop.major;
        *cc_minor = prop.minor;
        put(name, name_cap, prop.name);
        return A4J_OK;
    });
}

int32_t a4j_logger_create(a4j_log_fn fn, void* user, int32_t min_severity, a4j_logger** out, char* err,
                          size_t err_cap) {
    return guarded(err, err_cap, "logger", [&]() -> int32_t {
        if (fn == nullptr || out == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "logger: callback and out must not be NULL");
        }
        auto* l = new a4j_logger();
        l->fn = fn;
        l->user = user;
        l->min_severity = min_severity;
        *out = l;
        return A4J_OK;
    });
}

void a4j_logger_destroy(a4j_logger* logger) {
    delete logger;
}

int32_t a4j_runtime_create(a4j_logger* logger, a4j_runtime** out, char* err, size_t err_cap) {
    return guarded(err, err_cap, "runtime", [&]() -> int32_t {
        if (logger == nullptr || out == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "runtime: logger and out must not be NULL");
        }
        std::unique_ptr<nvinfer1::IRuntime> r(nvinfer1::createInferRuntime(*logger));
        if (!r) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "createInferRuntime returned NULL (see the TensorRT log)");
        }
        *out = new a4j_runtime{std::move(r)};
        return A4J_OK;
    });
}

void a4j_runtime_destroy(a4j_runtime* runtime) {
    delete runtime;
}

int32_t a4j_engine_deserialize(a4j_runtime* runtime, const void* plan, size_t plan_size, a4j_engine** out,
                               char* err, size_t err_cap) {
    return guarded(err, err_cap, "deserialize", [&]() -> int32_t {
        if (runtime == nullptr || plan == nullptr || out == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "deserialize: NULL argument");
        }
        std::unique_ptr<nvinfer1::ICudaEngine> e(runtime->runtime->deserializeCudaEngine(plan, plan_size));
        if (!e) {
            return fail(err, err_cap, A4J_ERR_TENSORRT,
                        "deserializeCudaEngine failed for a " + std::to_string(plan_size)
                                + "-byte plan (built by another TensorRT version or GPU? see the TensorRT log)");
        }
        *out = new a4j_engine{std::move(e)};
        return A4J_OK;
    });
}

void a4j_engine_destroy(a4j_engine* engine) {
    delete engine;
}

int32_t a4j_engine_serialize(a4j_engine* engine, a4j_blob** out, char* err, size_t err_cap) {
    return guarded(err, err_cap, "serialize", [&]() -> int32_t {
        if (engine == nullptr || out == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "serialize: NULL argument");
        }
        std::unique_ptr<nvinfer1::IHostMemory> m(engine->engine->serialize());
        if (!m) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "ICudaEngine::serialize returned NULL");
        }
        *out = new a4j_blob{std::move(m)};
        return A4J_OK;
    });
}

int32_t a4j_build_from_onnx(a4j_logger* logger, const char* onnx_path, int32_t flags,
                            const a4j_shape_range* ranges, int32_t range_count, int64_t default_min,
                            int64_t default_opt, int64_t default_max, size_t workspace_bytes, a4j_blob** out,
                            char* err, size_t err_cap) {
    return guarded(err, err_cap, "build", [&]() -> int32_t {
        if (logger == nullptr || onnx_path == nullptr || out == nullptr || (range_count > 0 && ranges == nullptr)) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "build: NULL argument");
        }
        std::unique_ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(*logger));
        if (!builder) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "createInferBuilder returned NULL");
        }
        std::unique_ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(0));
        std::unique_ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, *logger));
        if (!network || !parser) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "cannot create the network or the ONNX parser");
        }
        if (!parser->parseFromFile(onnx_path, static_cast<int>(nvinfer1::ILogger::Severity::kWARNING))) {
            std::string msg = std::string("ONNX parser rejected ") + onnx_path;
            for (int32_t i = 0; i < parser->getNbErrors(); i++) {
                msg += "; ";
                msg += parser->getError(i)->desc();
            }
            return fail(err, err_cap, A4J_ERR_TENSORRT, msg);
        }
        std::unique_ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
        if ((flags & A4J_BUILD_FP16) != 0) {
            // Weakly typed FP16: deprecated in TensorRT 10.12+ in favour of strongly typed networks, but
            // still the way to let TensorRT pick FP16 kernels for an FP32 ONNX export.
            config->setFlag(nvinfer1::BuilderFlag::kFP16);
        }
        if ((flags & A4J_BUILD_BF16) != 0) {
            // BF16 kernels (compute capability 8.0 and later): FP32's exponent range, for graphs whose
            // activations overflow FP16's 65504; weakly typed and deprecated like kFP16 (10.12+)
            config->setFlag(nvinfer1::BuilderFlag::kBF16);
        }
        if (workspace_bytes > 0) {
            config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, workspace_bytes);
        }
        nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
        bool dynamic = false;
        for (int32_t i = 0; i < network->getNbInputs(); i++) {
            nvinfer1::ITensor* input = network->getInput(i);
            nvinfer1::Dims d = input->getDimensions();
            const a4j_shape_range* given = nullptr;
            for (int32_t r = 0; r < range_count; r++) {
                if (ranges[r].name != nullptr && std::strcmp(ranges[r].name, input->getName()) == 0) {
                    given = &ranges[r];
                }
            }
            bool has_dynamic = false;
            for (int32_t k = 0; k < d.nbDims; k++) {
                has_dynamic |= d.d[k] < 0;
            }
            if (!has_dynamic && given == nullptr) {
                continue;
            }
            if (given != nullptr && given->rank != d.nbDims) {
                return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT,
                            std::string("profile for input '") + input->getName() + "' has rank "
                                    + std::to_string(given->rank) + " but the graph declares " + dims_text(d));
            }
            nvinfer1::Dims mn = d, op = d, mx = d;
            for (int32_t k = 0; k < d.nbDims; k++) {
                if (given != nullptr) {
                    mn.d[k] = given->min[k];
                    op.d[k] = given->opt[k];
                    mx.d[k] = given->max[k];
                } else if (d.d[k] < 0) {
                    mn.d[k] = default_min;
                    op.d[k] = default_opt;
                    mx.d[k] = default_max;
                }
            }
            bool ok = profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kMIN, mn)
                    && profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kOPT, op)
                    && profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kMAX, mx);
            if (!ok) {
                return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT,
                            std::string("invalid profile for input '") + input->getName() + "': min "
                                    + dims_text(mn) + " opt " + dims_text(op) + " max " + dims_text(mx));
            }
            dynamic = true;
        }
        if (dynamic && config->addOptimizationProfile(profile) < 0) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "the optimisation profile was rejected (see the TensorRT log)");
        }
        std::unique_ptr<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
        if (!plan) {
            return fail(err, err_cap, A4J_ERR_TENSORRT,
                        std::string("building an engine from ") + onnx_path + " failed (see the TensorRT log)");
        }
        *out = new a4j_blob{std::move(plan)};
        return A4J_OK;
    });
}

const void* a4j_blob_data(const a4j_blob* blob) {
    return blob == nullptr ? nullptr : blob->memory->data();
}

size_t a4j_blob_size(const a4j_blob* blob) {
    return blob == nullptr ? 0 : blob->memory->size();
}

void a4j_blob_destroy(a4j_blob* blob) {
    delete blob;
}

int32_t a4j_engine_io_count(a4j_engine* engine, int32_t* count, char* err, size_t err_cap) {
    return guarded(err, err_cap, "io count", [&]() -> int32_t {
        if (engine == nullptr || count == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "io count: NULL argument");
        }
        *count = engine->engine->getNbIOTensors();
        return A4J_OK;
    });
}

int32_t a4j_engine_io_info(a4j_engine* engine, int32_t index, char* name, size_t name_cap, int32_t* is_input,
                           int32_t* dtype, int32_t* rank, int64_t* dims, char* err, size_t err_cap) {
    return guarded(err, err_cap, "io info", [&]() -> int32_t {
        if (engine == nullptr || is_input == nullptr || dtype == nullptr || rank == nullptr || dims == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "io info: NULL argument");
        }
        nvinfer1::ICudaEngine& e = *engine->engine;
        if (index < 0 || index >= e.getNbIOTensors()) {
            return fail(err, err_cap, A4J_ERR_NOT_FOUND, "io info: no tensor #" + std::to_string(index));
        }
        const char* n = e.getIOTensorName(index);
        nvinfer1::Dims d = e.getTensorShape(n);
        if (d.nbDims < 0 || d.nbDims > A4J_MAX_DIMS) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT,
                        std::string("tensor '") + n + "' has unsupported rank " + std::to_string(d.nbDims));
        }
        put(name, name_cap, n);
        *is_input = e.getTensorIOMode(n) == nvinfer1::TensorIOMode::kINPUT ? 1 : 0;
        *dtype = static_cast<int32_t>(e.getTensorDataType(n));
        *rank = d.nbDims;
        for (int32_t k = 0; k < d.nbDims; k++) {
            dims[k] = d.d[k];
        }
        return A4J_OK;
    });
}

int32_t a4j_context_create(a4j_engine* engine, a4j_context** out, char* err, size_t err_cap) {
    return guarded(err, err_cap, "context", [&]() -> int32_t {
        if (engine == nullptr || out == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "context: NULL argument");
        }
        std::unique_ptr<nvinfer1::IExecutionContext> c(engine->engine->createExecutionContext());
        if (!c) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "createExecutionContext returned NULL (out of device memory?)");
        }
        *out = new a4j_context{std::move(c)};
        return A4J_OK;
    });
}

void a4j_context_destroy(a4j_context* context) {
    delete context;
}

int32_t a4j_context_set_input_shape(a4j_context* context, const char* name, int32_t rank, const int64_t* dims,
                                    char* err, size_t err_cap) {
    return guarded(err, err_cap, "set input shape", [&]() -> int32_t {
        if (context == nullptr || name == nullptr || dims == nullptr || rank < 0 || rank > A4J_MAX_DIMS) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "set input shape: bad argument");
        }
        nvinfer1::Dims d = to_dims(rank, dims);
        if (!context->context->setInputShape(name, d)) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT,
                        std::string("shape ") + dims_text(d) + " rejected for input '" + name
                                + "' (outside the engine's optimisation profile?)");
        }
        return A4J_OK;
    });
}

int32_t a4j_context_tensor_shape(a4j_context* context, const char* name, int32_t* rank, int64_t* dims, char* err,
                                 size_t err_cap) {
    return guarded(err, err_cap, "tensor shape", [&]() -> int32_t {
        if (context == nullptr || name == nullptr || rank == nullptr || dims == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "tensor shape: NULL argument");
        }
        nvinfer1::Dims d = context->context->getTensorShape(name);
        if (d.nbDims < 0 || d.nbDims > A4J_MAX_DIMS) {
            return fail(err, err_cap, A4J_ERR_NOT_FOUND, std::string("no tensor '") + name + "'");
        }
        *rank = d.nbDims;
        for (int32_t k = 0; k < d.nbDims; k++) {
            dims[k] = d.d[k];
        }
        return A4J_OK;
    });
}

int32_t a4j_context_set_tensor_address(a4j_context* context, const char* name, void* device_address, char* err,
                                       size_t err_cap) {
    return guarded(err, err_cap, "set tensor address", [&]() -> int32_t {
        if (context == nullptr || name == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "set tensor address: NULL argument");
        }
        if (!context->context->setTensorAddress(name, device_address)) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, std::string("address rejected for tensor '") + name + "'");
        }
        return A4J_OK;
    });
}

int32_t a4j_context_enqueue(a4j_context* context, a4j_stream* stream, char* err, size_t err_cap) {
    return guarded(err, err_cap, "enqueue", [&]() -> int32_t {
        if (context == nullptr) {
            return fail(err, err_cap, A4J_ERR_INVALID_ARGUMENT, "enqueue: NULL context");
        }
        if (!context->context->enqueueV3(reinterpret_cast<cudaStream_t>(stream))) {
            return fail(err, err_cap, A4J_ERR_TENSORRT, "enqueueV3 failed (see the TensorRT log)");
        }
        return A4J_OK;
    });
}

int32_t a4j_stream_create(a4j_stream** out, char* err, size_t err_cap) {
    return guarded(err, err_cap, "stream", [&]() -> int32_t {
        cudaStream_t s = nullptr;
        cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
        if (e != cudaSuccess) {
            return cuda_fail(err, err_cap, "cudaStreamCreateWithFlags", e);
        }
        *out = reinterpret_cast<a4j_stream*>(s);
        return A4J_OK;
    });
}

int32_t a4j_stream_synchronize(a4j_stream* stream, char* err, size_t err_cap) {
    return guarded(err, err_cap, "synchronize", [&]() -> int32_t {
        cudaError_t e = cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream));
        return e == cudaSuccess ? A4J_OK : cuda_fail(err, err_cap, "cudaStreamSynchronize", e);
    });
}

void a4j_stream_destroy(a4j_stream* stream) {
    if (stream != nullptr) {
        cudaStreamDestroy(reinterpret_cast<cudaStream_t>(stream));
    }
}

int32_t a4j_device_malloc(size_t bytes, void** out, char* err, size_t err_cap) {
    return guarded(err, err_cap, "malloc", [&]() -> int32_t {
        void* p = nullptr;
        cudaError_t e = cudaMalloc(&p, bytes);
        if (e == cudaErrorMemoryAllocation) {
            return fail(err, err_cap, A4J_ERR_OUT_OF_MEMORY,
                        "cudaMalloc: out of device memory allocating " + std::to_string(bytes) + " bytes");
        }
        if (e != cudaSuccess) {
            return cuda_fail(err, err_cap, "cudaMalloc", e);
        }
        *out = p;
        return A4J_OK;
    });
}

void a4j_device_free(void* device_address) {
    if (device_address != nullptr) {
        cudaFree(device_address);
    }
}

int32_t a4j_memcpy_htod_async(void* device_dst, const void* host_src, size_t bytes, a4j_stream* stream, char* err,
                              size_t err_cap) {
    return guarded(err, err_cap, "copy to device", [&]() -> int32_t {
        cudaError_t e = cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyHostToDevice,
                                        reinterpret_cast<cudaStream_t>(stream));
        return e == cudaSuccess ? A4J_OK : cuda_fail(err, err_cap, "cudaMemcpyAsync(host to device)", e);
    });
}

int32_t a4j_memcpy_dtoh_async(void* host_dst, const void* device_src, size_t bytes, a4j_stream* stream, char* err,
                              size_t err_cap) {
    return guarded(err, err_cap, "copy to host", [&]() -> int32_t {
        cudaError_t e = cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDeviceToHost,
                                        reinterpret_cast<cudaStream_t>(stream));
        return e == cudaSuccess ? A4J_OK : cuda_fail(err, err_cap, "cudaMemcpyAsync(device to host)", e);
    });
}

int32_t a4j_memcpy_dtod_async(void* device_dst, const void* device_src, size_t bytes, a4j_stream* stream, char* err,
                              size_t err_cap) {
    return guarded(err, err_cap, "copy on device", [&]() -> int32_t {
        cudaError_t e = cudaMemcpyAsync(device_dst, device_src, bytes, cudaMemcpyDeviceToDevice,
                                        reinterpret_cast<cudaStream_t>(stream));
        return e == cudaSuccess ? A4J_OK : cuda_fail(err, err_cap, "cudaMemcpyAsync(device to device)", e);
    });
}

int32_t a4j_memset_async(void* device_dst, int32_t value, size_t bytes, a4j_stream* stream, char* err, size_t err_cap) {
    return guarded(err, err_cap, "fill on device", [&]() -> int32_t {
        cudaError_t e = cudaMemsetAsync(device_dst, value, bytes, reinterpret_cast<cudaStream_t>(stream));
        return e == cudaSuccess ? A4J_OK : cuda_fail(err, err_cap, "cudaMemsetAsync", e);
    });
}

}  // extern "C"
