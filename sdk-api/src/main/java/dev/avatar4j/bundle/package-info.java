/**
 * Model bundles: opening a bundle directory or {@code .zip} and checking it before anything is run
 * ({@link dev.avatar4j.bundle.Bundle}: paths confined to the bundle, sizes bounded, every file and
 * every external-data file of a graph matching its sha256), the parsed {@code avatar-bundle.json}
 * ({@link dev.avatar4j.bundle.BundleManifest}, {@link dev.avatar4j.bundle.JsonObject}), the bundles
 * built into the SDK jar ({@link dev.avatar4j.bundle.DefaultBundle}), the shared extraction cache and
 * its locking protocol, and safetensors reading. Bundles are untrusted input; the format is described
 * in {@code docs/BUNDLE-FORMAT.md}.
 *
 * <p>Internal package: exported only to {@code dev.avatar4j.tensorrt}, whose engine prebuild reads
 * graphs the way bundles do. Applications open bundles through {@link dev.avatar4j.AvatarModel}.
 */
package dev.avatar4j.bundle;
