/**
 * The {@code avatar4j} command-line tool ({@link dev.avatar4j.examples.cli.Avatar4jCli}), started
 * by {@code bin/avatar4j}: {@code generate} renders an MP4, {@code doctor} checks the installation.
 */
package dev.avatar4j.examples.cli;
