"""Pictures people look at: the tracked ball over the frames, the network's probability map in yellow, crop stacks
with true and predicted positions, and close-ups of single frames.

Videos stream frames (one in memory at a time) and are written through OpenCV: ``.mp4`` as MPEG-4 part 2 (what
every player reads), ``.webm`` as VP8 (what browsers and W&B play inline).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from data_prep.clips import Clip
from data_prep.crops import crop_origin, crop_stack
from evaluation.metrics import frame_errors, running_sibatracc
from evaluation.predictions import Track

TRAIL = 10  # frames of recent track drawn behind the ball
PRED_COLOUR = (255, 60, 60)   # RGB
GT_COLOUR = (60, 255, 60)
PROPOSAL_COLOUR = (80, 160, 255)
YELLOW = np.array([255, 230, 0], np.float32)
FOURCC = {".mp4": "mp4v", ".webm": "VP80"}


class VideoSink:
    """Context manager writing RGB frames to an ``.mp4`` or ``.webm``; the first frame fixes the size."""

    def __init__(self, path: Path, fps: float = 30.0):
        self.path, self.fps, self.writer = Path(path), fps, None

    def __enter__(self) -> VideoSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame_rgb: np.ndarray) -> None:
        if self.writer is None:
            height, width = frame_rgb.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(self.path.suffix.lower(), "mp4v"))
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
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


@dataclass(frozen=True)
class OverlayClip:
    """The first ``frames`` frames of a clip with a track (red) and the labels (green) drawn, at most ``width`` px
    wide.

    Nothing is decoded until :meth:`write`, so validation can offer one every epoch and the logger render few.
    """

    clip: Clip
    track: Track
    frames: int = 90
    width: int = 640

    @property
    def name(self) -> str:
        return f"overlay_{self.clip.name}"

    def write(self, path: Path, fps: float = 30.0) -> Path:
        gt = Track(self.clip.labels.codes, self.clip.labels.xy) if self.clip.labels is not None else None
        score = running_sibatracc(frame_errors(gt.codes, gt.xy, self.track.codes, self.track.xy)) if gt else None
        drawn = draw_track(islice(self.clip.iter_frames(), self.frames), self.track, gt, score)
        with VideoSink(path, fps) as sink:
            for frame in drawn:
                sink.write(resize_width(frame, min(self.width, frame.shape[1])))
        return Path(path)


def resize_width(image: np.ndarray, width: int) -> np.ndarray:
    """(H, W, 3) -> (round(H * width / W), width, 3), area-averaged when shrinking."""
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    shrink = width < image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST)


def draw_crop_stacks(stacks: np.ndarray, origins: np.ndarray, gt_xy: np.ndarray, pred_xy: np.ndarray,
                     proposal_xy: np.ndarray, scale: int = 4) -> np.ndarray:
    """One row per sample: its crops t-k .. t+k enlarged ``scale`` times; on the centre crop the label (green
    ring), the proposal's peak (blue cross) and the refined position (red dot).

    stacks: (m, T, P, P, 3) uint8; origins: (m, 2) crop top-left in frame pixels;
    gt_xy, pred_xy, proposal_xy: (m, 2) frame pixels (gt -1 when there is no ball)
    returns: (m * (P * scale + 2) - 2, T * (P * scale + 2) - 2, 3) uint8, tiles 2 px apart on white
    """
    m, t, p = stacks.shape[:3]
    size, gap = p * scale, 2
    sheet = np.full((m * (size + gap), t * (size + gap), 3), 255, np.uint8)
    for row in range(m):
        for col in range(t):
            tile = cv2.resize(stacks[row, col], (size, size), interpolation=cv2.INTER_NEAREST)
            if col == t // 2:
                gt, proposal, pred = (_zoomed(xy[row], origins[row], scale) for xy in (gt_xy, proposal_xy, pred_xy))
                if gt_xy[row][0] >= 0:
                    cv2.circle(tile, gt, 3 * scale, GT_COLOUR, 1, cv2.LINE_AA)
                cv2.drawMarker(tile, proposal, PROPOSAL_COLOUR, cv2.MARKER_CROSS, 3 * scale, 1)
                cv2.circle(tile, pred, max(2, scale // 2), PRED_COLOUR, -1, cv2.LINE_AA)
            y, x = row * (size + gap), col * (size + gap)
            sheet[y:y + size, x:x + size] = tile
    return sheet[:-gap, :-gap]


def crop_sheet(frames, gt_xy: np.ndarray, candidate_xy: np.ndarray, prob: np.ndarray, refined_xy: np.ndarray,
               crop: int, context: int, rows: int = 6) -> np.ndarray:
    """:func:`draw_crop_stacks` of the refiner's favourite candidate in up to ``rows`` frames spread over a clip
    (frames with a ball first): what the refiner saw, where the ball is and where it put it.

    frames: (n, H, W, 3) full resolution; gt_xy: (n, 2) labels, -1 when absent; candidate_xy, refined_xy: (n, k, 2)
    proposal and refined positions; prob: (n, k) refiner ball probability -> an RGB image
    """
    ball = np.flatnonzero(gt_xy[:, 0] >= 0)
    pool = ball if len(ball) else np.arange(len(gt_xy))
    picks = pool[np.linspace(0, len(pool) - 1, min(rows, len(pool))).round().astype(int)]
    best = prob[picks].argmax(axis=1)
    origins = crop_origin(candidate_xy[picks, best], crop)
    stacks = np.stack([crop_stack(frames, t, o, crop, context) for t, o in zip(picks, origins)])
    return draw_crop_stacks(stacks, origins, gt_xy[picks], refined_xy[picks, best], candidate_xy[picks, best])


def close_up(frame: np.ndarray, centre: np.ndarray, gt_xy: np.ndarray | None, pred_xy: np.ndarray | None,
             half: int = 48, scale: int = 3) -> np.ndarray:
    """A (2 * half * scale)^2 enlargement of ``frame`` around ``centre`` with the label (green ring) and the
    prediction (red ring); either position may be None or -1 for "no ball".

    frame: (H, W, 3) uint8 RGB; positions in frame pixels -> (2 * half * scale, 2 * half * scale, 3) uint8
    """
    height, width = frame.shape[:2]
    cx, cy = np.clip(np.asarray(centre, np.float64), 0, (width - 1, height - 1))  # a wild prediction: the edge
    x0, y0 = int(round(cx)) - half, int(round(cy)) - half
    pad = 2 * half
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    window = padded[y0 + pad:y0 + pad + 2 * half, x0 + pad:x0 + pad + 2 * half]
    tile = cv2.resize(window, (2 * half * scale, 2 * half * scale), interpolation=cv2.INTER_NEAREST)
    for xy, colour, radius in ((gt_xy, GT_COLOUR, 9), (pred_xy, PRED_COLOUR, 6)):
        if xy is not None and xy[0] >= 0:
            cv2.circle(tile, _zoomed(xy, (x0, y0), scale), radius * scale // 2, colour, 2, cv2.LINE_AA)
    return tile


def _zoomed(xy, origin, scale: int) -> tuple[int, int]:
    """A frame position in a window cut at ``origin`` and enlarged ``scale`` times (pixel centres stay centres)."""
    return _pt((np.asarray(xy, np.float64) - np.asarray(origin, np.float64) + 0.5) * scale - 0.5)


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))
