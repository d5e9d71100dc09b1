/**
 * Face detection shared by the families: MediaPipe's short-range BlazeFace with its SSD anchors,
 * tiled search and weighted non-maximum suppression ({@link dev.avatar4j.face.FaceDetector}), the
 * eye refinement of its keypoints ({@link dev.avatar4j.face.EyeRefinement}), the detections
 * ({@link dev.avatar4j.face.FaceDetection}) and the family-neutral entry point
 * {@link dev.avatar4j.face.BlazeFace} (box and keypoints in image pixels, {@code NoFaceException}
 * when none). The {@code preview} family frames and rigs its portrait with it; the
 * {@code latentsync} family locates the face of every video frame with it.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.face;
