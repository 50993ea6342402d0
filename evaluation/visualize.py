"""Pictures people look at: the tracked ball over the frames, the network's probability map in yellow, crop stacks
with true and predicted positions, and close-ups of single frames.

Videos stream frames (one in memory at a time) and are written through PyAV (FFmpeg) as yuv420p with even
dimensions, what browsers, W&B and desktop players all decode: ``.mp4`` as H.264, ``.webm`` as VP9 (VP8 where that
encoder is missing). An FFmpeg without an H.264 encoder gets VP9 in ``.webm`` instead; :attr:`VideoSink.path` says
which file was written.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import cv2
import numpy as np

from data_prep.clips import Clip, DataError
from data_prep.crops import crop_origin, crop_stack
from evaluation.metrics import frame_errors, running_sibatracc
from evaluation.predictions import Track

log = logging.getLogger(__name__)

TRAIL = 10  # frames of recent track drawn behind the ball
TRAIL_JUMP = 120.0  # px between consecutive frames beyond which the trail breaks (a track switch, not a flight)
PRED_COLOUR = (255, 60, 60)   # RGB
GT_COLOUR = (60, 255, 60)
PROPOSAL_COLOUR = (80, 160, 255)
YELLOW = np.array([255, 230, 0], np.float32)
# Encoders by container, best first, with options: fast enough for validation videos, small enough for W&B.
ENCODERS = {
    ".mp4": (("libx264", {"preset": "veryfast", "crf": "23"}), ("h264", {}), ("libopenh264", {})),
    ".webm": (("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "32", "b": "0"}),
              ("libvpx", {"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "2M"})),
}


def pick_encoder(suffix: str) -> tuple[str, str, dict[str, str]]:
    """(suffix, codec, options) of the first available encoder for ``.mp4`` or ``.webm``; an mp4 without an H.264
    encoder falls back to ``.webm``."""
    suffix = suffix.lower()
    if suffix not in ENCODERS:
        raise ValueError(f"unsupported video suffix {suffix!r}; use .mp4 or .webm")
    for name, options in ENCODERS[suffix]:
        try:
            av.Codec(name, "w")
        except ValueError:  # UnknownCodecError: not in this FFmpeg build
            continue
        return suffix, name, options
    if suffix == ".mp4":
        return pick_encoder(".webm")
    raise OSError(f"this FFmpeg (PyAV {av.__version__}) has no VP9 or VP8 encoder")


class VideoSink:
    """Context manager writing RGB frames to an ``.mp4`` (H.264) or ``.webm`` (VP9); the first frame fixes the size,
    rounded down to even (yuv420p halves the chroma planes).

    ``path`` becomes ``.webm`` when an ``.mp4`` is asked for and no H.264 encoder exists.
    """

    def __init__(self, path: Path, fps: float = 30.0):
        self.path, self.fps = Path(path), fps
        self.container, self.stream = None, None

    def __enter__(self) -> VideoSink:
        suffix, self.codec, self.options = pick_encoder(self.path.suffix)
        if suffix != self.path.suffix.lower():
            log.warning("no H.264 encoder in this FFmpeg: writing %s as VP9", self.path.with_suffix(suffix))
            self.path = self.path.with_suffix(suffix)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame_rgb: np.ndarray) -> None:
        if self.stream is None:
            height, width = frame_rgb.shape[:2]
            self.size = (width - width % 2, height - height % 2)
            if min(self.size) < 2:
                raise DataError(self.path, f"a {width}x{height} frame is too small for a video (2x2 at least)")
            self.container = av.open(str(self.path), "w", options={"movflags": "+faststart"}
                                     if self.path.suffix.lower() == ".mp4" else {})
            rate = Fraction(self.fps).limit_denominator(1001)
            self.stream = self.container.add_stream(self.codec, rate=rate, options=self.options)
            self.stream.width, self.stream.height, self.stream.pix_fmt = *self.size, "yuv420p"
        width, height = self.size
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb[:height, :width]), format="rgb24")
        self.container.mux(self.stream.encode(frame))

    def __exit__(self, *exc) -> None:
        if self.container is not None:
            self.container.mux(self.stream.encode(None))  # flush the frames the encoder still holds
            self.container.close()


def trail_segments(track: Track, t: int, length: int = TRAIL, max_jump: float = TRAIL_JUMP) -> list[tuple]:
    """The trail behind frame ``t``: line segments between consecutive frames of the last ``length`` that both
    have a ball no more than ``max_jump`` px apart, so the trail breaks where the track does."""
    segments = []
    for s in range(max(0, t - length), t):
        if track.codes[s] != 0 and track.codes[s + 1] != 0:
            a, b = track.xy[s], track.xy[s + 1]
            if np.hypot(*(np.asarray(b, np.float64) - a)) <= max_jump:
                segments.append((a, b))
    return segments


def draw_track(frames: Iterable[np.ndarray], track: Track, gt: Track | None = None,
               running_score: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield frames with the predicted ball (red circle + recent trail, broken at gaps and jumps), the GT (green)
    and a caption.

    frames: iterable of (H, W, 3) uint8 RGB at full resolution, one per track frame
    running_score: (n,) running SiBaTrAcc shown in the caption, when GT is known
    """
    for t, frame in enumerate(frames):
        canvas = np.ascontiguousarray(frame).copy()
        for a, b in trail_segments(track, t):
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


EVENT_COLOURS = {1: (255, 200, 0), 2: (0, 220, 255)}  # RGB: hit amber, bounce cyan


def draw_events(frames: Iterable[np.ndarray], xy: np.ndarray, events: np.ndarray, fps: float = 30.0
                ) -> Iterator[np.ndarray]:
    """Yield frames with the events marked where the ball was: a bounce as a ring on the court that stays a second,
    a hit as a burst and ``HIT`` for a third of a second.

    xy: (n, 2) pixels of the frames; events: (n,) 0 none, 1 hit, 2 bounce
    """
    marks = [(int(f), int(events[f]), xy[f]) for f in np.flatnonzero(events > 0) if xy[f][0] >= 0]
    for t, frame in enumerate(frames):
        canvas = frame
        for at, kind, (x, y) in marks:
            age = t - at
            if kind == 2 and 0 <= age < fps:
                canvas = np.ascontiguousarray(canvas)
                cv2.ellipse(canvas, _pt((x, y)), (14, 6), 0, 0, 360, EVENT_COLOURS[2], 2, cv2.LINE_AA)
            elif kind == 1 and 0 <= age < fps / 3:
                canvas = np.ascontiguousarray(canvas)
                for angle in np.arange(0, np.pi, np.pi / 4):
                    d = 14 * np.array([np.cos(angle), np.sin(angle)])
                    cv2.line(canvas, _pt((x, y) - d), _pt((x, y) + d), EVENT_COLOURS[1], 2, cv2.LINE_AA)
                cv2.putText(canvas, "HIT", _pt((x + 16, y - 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.7, EVENT_COLOURS[1], 2,
                            cv2.LINE_AA)
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
        return sink.path


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
