/**
 * The benchmark harness ({@code bench/run}, {@link dev.avatar4j.bench.BenchMain}) that produces
 * BENCHMARKS.md: SDK overhead against graph-run time, memory vs audio length in fresh JVMs, time to
 * first frame, pipelining, concurrency, JMH micro benchmarks against numpy, and the DiT's
 * arithmetic for utilisation reports. Not part of the SDK.
 */
package dev.avatar4j.bench;
