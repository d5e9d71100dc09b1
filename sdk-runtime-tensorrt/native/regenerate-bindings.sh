#!/bin/sh
# Regenerates the Java bindings of avatar4j_trt.h (package dev.avatar4j.tensorrt.ffi) with jextract.
#
# jextract is not published in any package registry: get a build for JDK 25 from
# https://jdk.java.net/jextract or build https://github.com/openjdk/jextract yourself (outside this
# repository), then run   JEXTRACT=/path/to/bin/jextract sdk-runtime-tensorrt/native/regenerate-bindings.sh
# Only jextract's output is committed, never jextract itself.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
JEXTRACT=${JEXTRACT:-jextract}
OUT="$HERE/../src/main/java"
PKG=dev.avatar4j.tensorrt.ffi

rm -rf "$OUT/dev/avatar4j/tensorrt/ffi"
# No --library: the Java side loads the shim itself (NativeLibraryLoader, with a diagnostic report of
# every path it tried), so the bindings look symbols up through the class loader.
"$JEXTRACT" \
  --output "$OUT" \
  --target-package "$PKG" \
  --header-class-name AvatarTrt \
  --include-typedef a4j_log_fn \
  --include-struct a4j_shape_range \
  --include-constant A4J_ABI_VERSION \
  --include-constant A4J_MAX_DIMS \
  --include-constant A4J_OK \
  --include-constant A4J_ERR_INVALID_ARGUMENT \
  --include-constant A4J_ERR_CUDA \
  --include-constant A4J_ERR_TENSORRT \
  --include-constant A4J_ERR_OUT_OF_MEMORY \
  --include-constant A4J_ERR_NOT_FOUND \
  --include-constant A4J_ERR_INTERNAL \
  --include-constant A4J_DT_FLOAT \
  --include-constant A4J_DT_HALF \
  --include-constant A4J_DT_INT32 \
  --include-constant A4J_DT_INT64 \
  --include-constant A4J_LOG_INTERNAL_ERROR \
  --include-constant A4J_LOG_ERROR \
  --include-constant A4J_LOG_WARNING \
  --include-constant A4J_LOG_INFO \
  --include-constant A4J_LOG_VERBOSE \
  --include-constant A4J_BUILD_FP16 \
  --include-constant A4J_BUILD_BF16 \
  --include-function a4j_abi_version \
  --include-function a4j_versions \
  --include-function a4j_device_count \
  --include-function a4j_device_info \
  --include-function a4j_logger_create \
  --include-function a4j_logger_destroy \
  --include-function a4j_runtime_create \
  --include-function a4j_runtime_destroy \
  --include-function a4j_engine_deserialize \
  --include-function a4j_engine_destroy \
  --include-function a4j_engine_serialize \
  --include-function a4j_build_from_onnx \
  --include-function a4j_blob_data \
  --include-function a4j_blob_size \
  --include-function a4j_blob_destroy \
  --include-function a4j_engine_io_count \
  --include-function a4j_engine_io_info \
  --include-function a4j_context_create \
  --include-function a4j_context_destroy \
  --include-function a4j_context_set_input_shape \
  --include-function a4j_context_tensor_shape \
  --include-function a4j_context_set_tensor_address \
  --include-function a4j_context_enqueue \
  --include-function a4j_stream_create \
  --include-function a4j_stream_synchronize \
  --include-function a4j_stream_destroy \
  --include-function a4j_device_malloc \
  --include-function a4j_device_free \
  --include-function a4j_memcpy_htod_async \
  --include-function a4j_memcpy_dtoh_async \
  --include-function a4j_memcpy_dtod_async \
  --include-function a4j_memset_async \
  "$HERE/avatar4j_trt.h"
echo "bindings written to $OUT/dev/avatar4j/tensorrt/ffi"
