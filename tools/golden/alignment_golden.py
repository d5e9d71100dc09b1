#!/usr/bin/env python3
"""Golden numbers for dev.avatar4j.family.latentsync.SimilarityAlignment (SimilarityAlignmentTest).

    /usr/bin/python3 tools/golden/alignment_golden.py

A numpy replica of LatentSync's (HEAD) `transformation_from_points` as docs/REFERENCE.md §2 item 5
describes it: centre both point sets, divide each by its np.std (over all coordinates), SVD of
p1ᵀ·p2, R = (U·Vᵀ)ᵀ with the det < 0 fix (flip the last row of Vᵀ), M = [(s2/s1)R | c2 − (s2/s1)R c1];
temporal smoothing adds bias = p2n[2] − p1n[2] (normalised coordinates), averaged 0.2·previous +
0.8·current, to M's translation column. Template [[17,20],[58,20],[37.5,40]]·ratio, ratio = res/256·2.8.
"""
import numpy as np

np.set_printoptions(precision=17)


def transformation_from_points(points1, points0, smooth, p_bias):
    points2 = np.array(points0, np.float64).copy()
    points1 = np.array(points1, np.float64).copy()
    c1 = np.mean(points1, axis=0)
    c2 = np.mean(points2, axis=0)
    points1 -= c1
    points2 -= c2
    s1 = np.std(points1)
    s2 = np.std(points2)
    points1 /= s1
    points2 /= s2
    U, S, Vt = np.linalg.svd(points1.T @ points2)
    R = (U @ Vt).T
    if np.linalg.det(R) < 0:
        Vt[1, :] *= -1
        R = (U @ Vt).T
    sR = (s2 / s1) * R
    T = c2.reshape(2, 1) - (s2 / s1) * (R @ c1.reshape(2, 1))
    M = np.concatenate((sR, T), axis=1)
    if smooth:
        bias = points2[2] - points1[2]
        if p_bias is None:
            p_bias = bias
        else:
            bias = p_bias * 0.2 + bias * 0.8
        p_bias = bias
        M[:, 2] = M[:, 2] + bias
    return M, p_bias


def fmt(M):
    return "{" + ", ".join(repr(float(v)) for v in M.reshape(-1)) + "}"


template = np.array([[17, 20], [58, 20], [37.5, 40]], np.float64) * (256 / 256 * 2.8)
frames = [
    [[100.0, 120.0], [180.0, 118.0], [141.0, 160.0]],   # upright face
    [[102.5, 121.0], [181.0, 121.5], [143.0, 161.0]],   # next frame, small motion
    [[150.0, 80.0], [130.0, 160.0], [190.0, 125.0]],    # rotated about 100 degrees
    [[180.0, 118.0], [100.0, 120.0], [141.0, 160.0]],   # brows swapped: mirror image, det < 0 case
]
p_bias = None
for i, f in enumerate(frames):
    M, p_bias = transformation_from_points(f, template, True, p_bias)
    print(f"smoothed frame {i}: {fmt(M)}")
for i, f in enumerate(frames):
    M, _ = transformation_from_points(f, template, False, None)
    print(f"plain frame {i}: {fmt(M)}")
