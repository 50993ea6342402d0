"""Videos people look at: the tracked ball over the frames, and the network's probability map in yellow.

Both stream frames (one in memory at a time) and write mp4 through OpenCV.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from evaluation.predictions import Track

TRAIL = 10  # frames of recent track drawn behind the ball
PRED_COLOUR = (255, 60, 60)   # RGB
GT_COLOUR = (60, 255, 60)
YELLOW = np.array([255, 230, 0], np.float32)


class VideoSink:
    """Context manager writing RGB frames to an mp4; the first frame fixes the size."""

    def __init__(self, path: Path, fps: float = 30.0):
        self.path, self.fps, self.writer = Path(path), fps, None

    def __enter__(self) -> VideoSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame_rgb: np.ndarray) -> None:
        if self.writer is None:
            height, width = frame_rgb.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self.writer.isOpened():
                raise OSError(f"{self.path}: OpenCV cannot open a video writer")
        self.writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.release()


def draw_track(frames: Iterable[np.ndarray], track: Track, gt: Track | None = None,
               running_score: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield frames with the predicted ball (red circle + recent trail), the GT (green) and a caption.

    frames: iterable of (H, W, 3) uint8 RGB at full resolution, one per track frame
    running_score: (n,) running SiBaTrAcc shown in the caption, when GT is known
    """
    for t, frame in enumerate(frames):
        canvas = np.ascontiguousarray(frame).copy()
        trail = [track.xy[s] for s in range(max(0, t - TRAIL), t + 1) if track.codes[s] != 0]
        for a, b in zip(trail, trail[1:]):
            cv2.line(canvas, _pt(a), _pt(b), PRED_COLOUR, 1, cv2.LINE_AA)
        if gt is not None and gt.codes[t] != 0:
            cv2.circle(canvas, _pt(gt.xy[t]), 9, GT_COLOUR, 1, cv2.LINE_AA)
        if track.codes[t] != 0:
            cv2.circle(canvas, _pt(track.xy[t]), 6, PRED_COLOUR, 2, cv2.LINE_AA)
        caption = f"frame {t}  code {int(track.codes[t])}"
        if running_score is not None:
            caption += f"  SiBaTrAcc {running_score[t]:.4f}"
        cv2.putText(canvas, caption, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(canvas, caption, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 1, cv2.LINE_AA)
        yield canvas


def draw_probability(frames: Iterable[np.ndarray], maps: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield frames with a probability map overlaid in yellow (opacity = probability).

    frames: (H, W, 3) uint8 RGB; maps: (h, w) float in [0, 1] at any resolution, resized to the frame
    """
    for frame, prob in zip(frames, maps):
        height, width = frame.shape[:2]
        alpha = cv2.resize(np.clip(prob, 0, 1).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        alpha = alpha[..., None] * 0.85
        yield (frame.astype(np.float32) * (1 - alpha) + YELLOW * alpha).astype(np.uint8)


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))
