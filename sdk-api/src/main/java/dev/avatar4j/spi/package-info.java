/**
 * Service-provider interfaces for inference backends: {@link dev.avatar4j.spi.BackendProvider},
 * {@link dev.avatar4j.spi.Backend} and {@link dev.avatar4j.spi.GraphSession}.
 */
package dev.avatar4j.spi;
