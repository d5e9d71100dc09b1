/**
 * Running graphs on the installed backends: which backend runs
 * ({@link dev.avatar4j.backend.BackendRegistry}: an explicit name, else the available provider of
 * lowest rank, one instance per process), opening a bundle's graph from its verified bytes and
 * checking it against the family's {@link dev.avatar4j.backend.GraphContract}
 * ({@link dev.avatar4j.backend.Sessions}, which also serialises sessions that are not thread-safe),
 * and a decorator base for sessions ({@link dev.avatar4j.backend.ForwardingGraphSession}). The SPI
 * the backends implement is {@code dev.avatar4j.spi}. See {@code docs/ARCHITECTURE.md} §4.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.backend;
