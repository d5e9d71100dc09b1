/**
 * A stand-alone application that consumes avatar4j the way a user's project does (through the BOM,
 * as a named module that requires only {@code dev.avatar4j}; backend and media found by service
 * binding): {@link com.example.talkingavatar.App} runs the one-liner with the built-in model, streams
 * frames, cancels, and loads a bundle from a directory.
 */
package com.example.talkingavatar;
