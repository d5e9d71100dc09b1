/**
 * Service-provider interfaces for inference backends: {@link dev.avatar4j.spi.BackendProvider},
 * {@link dev.avatar4j.spi.Backend} and {@link dev.avatar4j.spi.GraphSession}, whose
 * {@link dev.avatar4j.spi.GraphSession#run run} returns a {@link dev.avatar4j.spi.GraphSession.Result}
 * that owns the outputs.
 */
package dev.avatar4j.spi;
