#!/usr/bin/env python3
"""Writes the tiny NumPy .npz datasets the Swift data tests read (Tests/RankEdgeTrainTests/Fixtures).

Pixel (n, c, h, w) of an array is (n*37 + c*101 + h*11 + w*3 + offset) % 256 (offset 0 for x,
128 for x_test) and label n is (3n + k) % classes; DatasetTests.swift recomputes both.
Usage: tools/make_npz_fixtures.py [OUTPUT_DIR]   (numpy only)
"""
import os, sys
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "RankEdgeTrainTests", "Fixtures")


def pixels(n, c, h, w, offset):
    """uint8 images in N×C×H×W order."""
    i = np.arange(n).reshape(n, 1, 1, 1) * 37 + np.arange(c).reshape(1, c, 1, 1) * 101
    i = i + np.arange(h).reshape(1, 1, h, 1) * 11 + np.arange(w).reshape(1, 1, 1, w) * 3 + offset
    return (i % 256).astype(np.uint8)


def labels(n, k, classes, dtype):
    return ((np.arange(n) * 3 + k) % classes).astype(dtype)


def nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


# np.savez (stored), channels last, int64 / uint8 labels, class names.
np.savez(os.path.join(out, "npz-stored-nhwc.npz"),
         x=nhwc(pixels(6, 3, 5, 4, 0)), y=labels(6, 1, 4, np.int64),
         x_test=nhwc(pixels(3, 3, 5, 4, 128)), y_test=labels(3, 2, 4, np.uint8),
         class_names=np.array(["cat", "dog", "emu", "yak"]))
# np.savez_compressed (deflate), one channel last, int16 labels, no test split.
np.savez_compressed(os.path.join(out, "npz-compressed-nhwc.npz"),
                    x=nhwc(pixels(7, 1, 6, 5, 0)), y=labels(7, 1, 5, np.int16))
# np.savez, channels first (N×C×H×W), int32 labels.
np.savez(os.path.join(out, "npz-nchw-int32.npz"),
         x=pixels(4, 3, 6, 5, 0), y=labels(4, 1, 7, np.int32),
         x_test=pixels(2, 3, 6, 5, 128), y_test=labels(2, 2, 7, np.int32))
