#!/usr/bin/env python3
"""Golden images for dev.avatar4j.family.latentsync.FaceWarp (FaceWarpTest), made with OpenCV.

    apt-get install python3-opencv          # Debian 12: OpenCV 4.6
    /usr/bin/python3 tools/golden/paste_back_golden.py

Replicates LatentSync's (HEAD) warp and restore_img steps with cv2 on small synthetic images defined
by integer formulas that FaceWarpTest repeats, and writes raw little-endian files to
sdk-api/src/test/resources/golden/latentsync/:

- warp_f32.bin:   cv2.warpAffine(frame as float32, M, (W, H), INTER_LINEAR, BORDER_CONSTANT, 127)
- soft_f32.bin:   the soft paste-back mask (ones warped back, erode 2x2, erode 2*w_edge,
                  GaussianBlur k = 2*w_edge+1 with sigma 0.3((k-1)/2-1)+0.8)
- paste_u8.bin:   the composited frame, soft*(eroded*face) + (1-soft)*frame, astype(uint8)
"""
import os

import cv2
import numpy as np

FW, FH = 96, 72     # frame
CW, CH = 42, 56     # crop (LatentSync's 75:100 aspect, small)
M = np.array([[0.61, -0.12, -12.5], [0.12, 0.61, -9.25]], np.float64)  # frame -> crop
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "sdk-api", "src", "test", "resources", "golden",
                   "latentsync")


def frame():
    y, x = np.mgrid[0:FH, 0:FW]
    return np.stack([(x * 3 + y) % 256, (y * 5 + 17) % 256, (x * y) % 256], -1).astype(np.uint8)


def face():
    y, x = np.mgrid[0:CH, 0:CW]
    return np.stack([(200 - x) % 256, (y * 4) % 256, (x + y * 2 + 60) % 256], -1).astype(np.float32)


f = frame()
warped = cv2.warpAffine(f.astype(np.float32), M, (CW, CH), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=(127, 127, 127))

inv = cv2.invertAffineTransform(M)
restored = cv2.warpAffine(face(), inv, (FW, FH))
mask = np.ones((CH, CW), np.float32)
inv_mask = cv2.warpAffine(mask, inv, (FW, FH))
eroded = cv2.erode(inv_mask, np.ones((2, 2), np.uint8))
pasted = eroded[:, :, None] * restored
area = np.sum(eroded)
w_edge = int(area ** 0.5) // 20
centre = cv2.erode(eroded, np.ones((w_edge * 2, w_edge * 2), np.uint8))
k = w_edge * 2 + 1
soft = cv2.GaussianBlur(centre, (k, k), 0.3 * ((k - 1) * 0.5 - 1) + 0.8)
out = soft[:, :, None] * pasted + (1 - soft[:, :, None]) * f
out_u8 = out.astype(np.uint8)

os.makedirs(OUT, exist_ok=True)
warped.astype("<f4").tofile(os.path.join(OUT, "warp_f32.bin"))
soft.astype("<f4").tofile(os.path.join(OUT, "soft_f32.bin"))
out_u8.tofile(os.path.join(OUT, "paste_u8.bin"))
print("cv2", cv2.__version__, "area", area, "w_edge", w_edge, "soft>0:", int((soft > 0).sum()),
      "changed pixels:", int((out_u8 != f).any(-1).sum()))
