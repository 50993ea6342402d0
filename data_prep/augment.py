"""Augmentation of frame stacks: one random draw applied identically to every frame and its ball keypoint.

Both stages see stacks (frames of a clip, or crops of those frames around a candidate). Motion is the signal, so
a geometric or photometric change that differed between frames of a stack would invent motion that is not there.
Albumentations applies one draw to ``image`` and every ``imageN`` additional target, and moves the keypoints (one
per frame) with the same geometry.
"""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

MAX_STACK = 16  # additional targets declared for up to this many frames


def stack_transform(split: str, strength: float = 1.0) -> A.Compose | None:
    """The augmentation of a split: ``train`` gets flips, affine, colour, blur, noise and JPEG; ``val`` none.

    strength scales the geometric and photometric ranges (0 disables augmentation).
    """
    if split in ("val", "test"):
        return None
    if split != "train":
        raise ValueError(f"unknown split {split!r}; expected 'train', 'val' or 'test'")
    if strength <= 0:
        return None
    s = strength
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(scale=(1 - 0.2 * s, 1 + 0.25 * s), translate_percent=(-0.05 * s, 0.05 * s),
                     rotate=(-4 * s, 4 * s), border_mode=cv2.BORDER_CONSTANT, p=0.6),
            A.RandomBrightnessContrast(brightness_limit=0.25 * s, contrast_limit=0.25 * s, p=0.7),
            A.HueSaturationValue(hue_shift_limit=int(12 * s), sat_shift_limit=int(25 * s), val_shift_limit=0, p=0.5),
            # Mild on purpose: at 512x288 a far ball is 1-2 px, and strong blur, noise or JPEG erases it, which
            # teaches the network to ignore faint evidence (the footage itself already carries all three).
            A.MotionBlur(blur_limit=(3, 3), p=0.1 * s),
            A.GaussNoise(std_range=(0.005, 0.02 * s), p=0.2),
            A.ImageCompression(quality_range=(int(95 - 20 * s), 95), p=0.2),
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
        additional_targets={f"image{i}": "image" for i in range(1, MAX_STACK)},
    )


def augment_stack(transform: A.Compose | None, frames: np.ndarray, xy: np.ndarray, present: np.ndarray,
                  seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply one draw of ``transform`` (seeded by ``seed``: samples are reproducible) to every frame of a stack
    and its ball.

    frames (t, h, w, 3) uint8, xy (t, 2) float pixels, present (t,) bool
    -> the same, with balls moved outside the image marked absent.
    """
    if transform is None:
        return frames, xy, present
    t, height, width = frames.shape[:3]
    assert t <= MAX_STACK, f"stack of {t} frames exceeds MAX_STACK={MAX_STACK}"
    images = {"image": frames[0], **{f"image{i}": frames[i] for i in range(1, t)}}
    # Constant borders: reflected ones would mirror the ball (albumentations then adds keypoint copies).
    # Absent balls still travel as keypoints (at the image centre) so the list keeps one entry per frame.
    points = np.where(present[:, None], xy, [(width - 1) / 2, (height - 1) / 2]).astype(np.float32)
    transform.set_random_seed(seed)
    out = transform(**images, keypoints=points)
    frames = np.stack([out["image"]] + [out[f"image{i}"] for i in range(1, t)])
    xy = np.asarray(out["keypoints"], np.float64).reshape(t, 2)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1)
    present = present & inside
    return frames, np.where(present[:, None], xy, -1.0), present
