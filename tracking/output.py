"""What a tracker returns for a clip, shared by :class:`tracking.tracker.Tracker` and
:class:`tracking.baseline.BaselineTracker`.

The per-frame track itself is :class:`evaluation.predictions.Track`: it is the predictions file's format, which
evaluation reads and scores, and evaluation sits below tracking, so the type lives there.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined


@dataclass
class ClipOutput:
    """Everything the tracker computed for a clip: the track and the per-frame candidates behind it."""

    track: Track
    candidates: Candidates | None
    refined: Refined | None
    seconds: float = 0.0  # wall-clock time of tracking, frame reading included
    confidence: np.ndarray | None = None  # (n,) :func:`track_confidence`; None where the tracker gives none


def track_confidence(track: Track, refined: Refined, near_px: float = 8.0) -> np.ndarray:
    """(n,) the refiner's probability that the ball is where the track puts it: that of the chosen candidate (or,
    for a gap-filled position, of the best candidate within ``near_px``, else 0); for a frame without a ball, that
    of its best candidate (how close it came to being one). Track and refined in the same pixels."""
    distance = np.linalg.norm(refined.xy - track.xy[:, None], axis=-1)  # (n, K)
    near = np.where(distance <= near_px, refined.prob, 0.0).max(axis=1, initial=0.0)
    return np.where(track.codes > 0, near, refined.prob.max(axis=1, initial=0.0))


def frame_progress(frames: Iterable[np.ndarray], total: int | None = None, desc: str = "tracking"
                   ) -> Iterator[np.ndarray]:
    """``frames`` passed through a per-frame progress bar (frames/s, and ETA when ``total`` is known) on stderr.

    The bar shows only on a terminal: piped or logged output (CI, notebooks' captured stderr) gets none.
    """
    return iter(tqdm(frames, total=total, desc=desc, unit="frame", leave=False, disable=None, dynamic_ncols=True))
