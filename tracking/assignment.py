"""Drop-in for the tennis tracking assignment's notebook: ``SuperTrackingModel`` with the same methods.

    model = SuperTrackingModel(batch_s, stack_s, out_path, downscale)
    model.load()                                  # fully automatic: the shipped weights
    labels, prob = model.predict(clip)            # clip: (n, H, W, 3) frames as the notebook loads them
    score = model.test(data_path, [1, 2], do_visualization=False, test_name='test')

``batch_s`` and ``stack_s`` are accepted for signature compatibility; our tracker chooses its own stack (it is in
the weights) and batches internally. ``downscale`` says the clips handed to ``predict`` are the assignment's
640x360 frames: they are brought back to 1280x720 so labels come out in full-resolution pixels, as the metric
expects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_prep.clips import FULL_SIZE, DataError, clip_problems, discover_clips
from evaluation.report import score_tracks
from tracking.tracker import Tracker


class SuperTrackingModel:
    def __init__(self, batch_s: int, stack_s: int, out_path: Path, downscale: bool):
        self.batch_s, self.stack_s, self.out_path, self.downscale = batch_s, stack_s, Path(out_path), downscale
        self.tracker: Tracker | None = None

    def load(self, weights: str | Path | None = None) -> None:
        """Load the shipped weights (or a file / Google Drive id / URL); no user action needed."""
        self.tracker = Tracker.load(weights)

    def _ready(self) -> Tracker:
        if self.tracker is None:
            self.load()
        return self.tracker

    def predict(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """clip (n, H, W, 3) RGB, uint8 0..255 or floats in 0..1 (as ``ToTensor`` gives; scaled to 0..255) ->
        labels (n, 3) float64 [code, x, y] in full-resolution pixels (x = y = -1 when code is 0), prob (n, h, w)
        float32 proposal probability maps in [0, 1] at the proposal's output size: prob (n, 88, 160) for the shipped
        weights. Other dtypes or ranges raise ValueError (a float clip in 0..255 would find no ball anywhere)."""
        tracker = self._ready()
        clip = _as_uint8(np.asarray(clip))
        assert clip.ndim == 4 and clip.shape[-1] == 3, f"clip must be (n, H, W, 3), got {clip.shape}"
        frames = list(clip)
        if self.downscale and clip.shape[2] != FULL_SIZE[0]:
            import cv2

            frames = [cv2.resize(f, FULL_SIZE, interpolation=cv2.INTER_LINEAR) for f in frames]
        out = tracker.track_frames(frames)
        labels = np.concatenate([out.track.codes[:, None].astype(np.float64), out.track.xy], axis=1)
        prob = np.stack(list(tracker.probability_frames(frames)))
        return labels, prob

    def test(self, data_path: Path, games: list[int] = (1,), do_visualization: bool = False,
             test_name: str = "test") -> float:
        """Track every clip of ``games`` under ``data_path``, print per-clip scores, return the mean SiBaTrAcc."""
        tracker = self._ready()
        clips = discover_clips(Path(data_path), list(games))
        problems = clip_problems(clips)  # headers only: a bad frame fails here, not after the clips before it
        if problems:
            raise DataError(Path(data_path), "bad clips:\n" + "\n".join(problems))
        report = score_tracks(clips, tracker.track_clip, self.out_path / test_name, visualize=do_visualization,
                              probability=tracker.probability_maps, extra=tracker.describe())
        return report.sibatracc


def _as_uint8(clip: np.ndarray) -> np.ndarray:
    """uint8 frames as they are; float frames in 0..1 scaled to 0..255; anything else refused."""
    if clip.dtype == np.uint8:
        return clip
    if np.issubdtype(clip.dtype, np.floating) and clip.size and np.isfinite(clip).all() \
            and clip.min() >= 0 and clip.max() <= 1:
        return np.round(clip * 255).astype(np.uint8)
    low, high = (float(clip.min()), float(clip.max())) if clip.size else (0, 0)
    raise ValueError(f"clip must be uint8 RGB 0..255 or floats in 0..1, got {clip.dtype} in {low:g}..{high:g}")
