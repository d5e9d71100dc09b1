/**
 * The LongCat-Video-Avatar 1.5 family (docs/REFERENCE.md §3): audio windows, segment plan and
 * schedule choices. Internal package: not exported.
 */
package dev.avatar4j.family.longcat;
