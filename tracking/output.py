"""What a tracker returns for a clip, shared by :class:`tracking.tracker.Tracker` and
:class:`tracking.baseline.BaselineTracker`.

The per-frame track itself is :class:`evaluation.predictions.Track`: it is the predictions file's format, which
evaluation reads and scores, and evaluation sits below tracking, so the type lives there.
"""
from __future__ import annotations

from dataclasses import dataclass

from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined


@dataclass
class ClipOutput:
    """Everything the tracker computed for a clip: the track and the per-frame candidates behind it."""

    track: Track
    candidates: Candidates | None
    refined: Refined | None
    seconds: float = 0.0  # wall-clock time of tracking, frame reading included
