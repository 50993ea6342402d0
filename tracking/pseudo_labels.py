"""Pseudo-labels for unlabelled clips from the tracker itself, kept only where time vouches for them.

The teacher is the full tracker run twice over a clip, forwards and backwards in time (the decoder's motion model
and the refiner's context see each frame from both sides). A frame becomes a training label only when

* **a ball**: both passes put it within ``agree_px`` of each other, and that position lies within ``fit_px`` of a
  parabola (constant acceleration, the flight between two hits or bounces) fitted through the ball's positions in
  the neighbouring frames: on both sides, or on one side only, so that a frame next to a bounce still has a
  plausible trajectory through it. The frame itself is never part of its own fit, so one wild detection is cut
  however confident the refiner was;
* **no ball**: neither pass reports a ball and no candidate of the frame reached ``absent_prob`` in either pass
  (close-ups, replays and the time between points give long runs of these);
* everything else is **ignored**: weight 0, left out of every loss, rather than a guess.

The result, per frame: ``code`` (1 ball, 0 no ball, -1 ignored), ``xy`` (-1 unless a ball) and ``confidence`` in
[0, 1] (for a ball the lower of the two passes' refiner probabilities at it, for no ball one minus the highest
candidate probability of the frame, 0 when ignored).

Run over unlabelled clips in the assignment layout (``python -m data_prep.importers video VIDEO --out ROOT --game G``
makes one from a video), it writes each clip's ``labels.csv`` with a sixth column, ``confidence``, in which the
ignored frames hold 0 (code 0, no position): training leaves them out (``data_prep.clips.Labels.trains``), and the
file stays readable, inspectable and editable as any label file::

    python -m tracking.pseudo_labels ROOT [--games 1 2] [--weights TEACHER.pt]

Its figures on labelled clips treated as unlabelled: ``python bench/pseudo_labels.py``.
"""
from __future__ import annotations

import copy
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from data_prep.clips import CONFIDENCE_COLUMN, Clip, DataError, Labels, discover_clips, read_frame, write_labels
from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined
from tracking.output import ClipOutput
from tracking.tracker import Tracker

log = logging.getLogger(__name__)

IGNORED = -1  # the code of a frame left out of training


@dataclass(frozen=True)
class PseudoLabelParams:
    agree_px: float = 4.0  # forward and backward positions at most this far apart (full-resolution px)
    fit_px: float = 4.0  # distance from the parabola through the neighbours; SiBaTrAcc is flat under 8 px
    window: int = 4  # neighbours on each side a fit may use
    min_points: int = 3  # a fit needs this many neighbouring balls (a parabola through 3 is exact, so > 3 tests it)
    absent_prob: float = 0.1  # no candidate above this probability in either pass: confidently no ball


@dataclass
class PseudoLabels:
    """code (n,) int in {-1, 0, 1}; xy (n, 2) float, -1 unless code 1; confidence (n,) float in [0, 1]."""

    code: np.ndarray
    xy: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.code)

    @property
    def kept(self) -> np.ndarray:
        """(n,) bool: the frames that train (a ball or a confident no ball)."""
        return self.code != IGNORED


def trajectory_residuals(xy: np.ndarray, present: np.ndarray, window: int = 4, min_points: int = 3) -> np.ndarray:
    """Per frame, how far its position lies from the best parabola through its neighbours' positions.

    xy (n, 2), present (n,) bool -> (n,) float px: the smallest distance over three fits (x and y each quadratic in
    time) through the present frames within ``window`` before and after, before only, after only; the frame
    itself is left out of every fit. ``inf`` where the frame has no ball or no fit has ``min_points`` points.
    """
    n = len(xy)
    out = np.full(n, np.inf)
    for t in np.flatnonzero(present):
        before = [s for s in range(max(0, t - window), t) if present[s]]
        after = [s for s in range(t + 1, min(n, t + window + 1)) if present[s]]
        for frames in (before + after, before, after):
            if len(frames) < min_points:
                continue
            times = np.array(frames, float) - t
            degree = min(2, len(frames) - 1)
            predicted = [np.polyval(np.polyfit(times, xy[frames, axis], degree), 0.0) for axis in (0, 1)]
            out[t] = min(out[t], float(np.hypot(predicted[0] - xy[t, 0], predicted[1] - xy[t, 1])))
    return out


def ball_probability_at(output: ClipOutput, xy: np.ndarray, radius: float) -> np.ndarray:
    """(n,) the highest refiner probability among each frame's candidates within ``radius`` px of ``xy``."""
    refined = output.refined
    near = np.linalg.norm(refined.xy - xy[:, None], axis=-1) <= radius
    return np.where(near, refined.prob, 0.0).max(axis=1)


def pseudo_labels(forward: ClipOutput, backward: ClipOutput,
                  params: PseudoLabelParams = PseudoLabelParams()) -> PseudoLabels:
    """Labels from a forward and a backward pass of the tracker over one clip (see the module docstring).

    ``backward`` is the tracker's output on the reversed frames (frame 0 of it is the clip's last frame); both
    must hold the refiner's verdicts.
    """
    assert forward.refined is not None and backward.refined is not None, "pseudo-labels need the refine stage"
    backward = reverse_output(backward)
    f, b = forward.track, backward.track
    both = (f.codes > 0) & (b.codes > 0)
    xy = np.where(both[:, None], (f.xy + b.xy) / 2, -1.0)
    agree = both & (np.linalg.norm(f.xy - b.xy, axis=1) <= params.agree_px)
    residual = trajectory_residuals(xy, agree, params.window, params.min_points)
    ball = agree & (residual <= params.fit_px)
    top = np.maximum(forward.refined.prob.max(axis=1), backward.refined.prob.max(axis=1))
    absent = (f.codes == 0) & (b.codes == 0) & (top < params.absent_prob)
    code = np.where(ball, 1, np.where(absent, 0, IGNORED))
    radius = params.agree_px
    ball_confidence = np.minimum(ball_probability_at(forward, xy, radius), ball_probability_at(backward, xy, radius))
    confidence = np.where(ball, ball_confidence, np.where(absent, 1 - top, 0.0))
    return PseudoLabels(code.astype(np.int64), np.where(ball[:, None], xy, -1.0), confidence)


def reverse_output(output: ClipOutput) -> ClipOutput:
    """The output of a pass over reversed frames, put back in the clip's own frame order."""
    track = Track(output.track.codes[::-1].copy(), output.track.xy[::-1].copy())
    candidates = None if output.candidates is None else Candidates(output.candidates.xy[::-1].copy(),
                                                                   output.candidates.score[::-1].copy())
    refined = None if output.refined is None else Refined(output.refined.prob[::-1].copy(),
                                                          output.refined.xy[::-1].copy(),
                                                          output.refined.code[::-1].copy())
    return ClipOutput(track, candidates, refined, output.seconds)


def label_clip(teacher: Tracker, clip: Clip, params: PseudoLabelParams = PseudoLabelParams()
               ) -> tuple[PseudoLabels, ClipOutput]:
    """The teacher's forward and backward passes over ``clip`` (frames streamed from disk both ways) turned into
    pseudo-labels; also returns the forward pass, the teacher's own track."""
    # Decoded without the lead (tracking.decode): a label goes where the networks see the ball, the streak's centre,
    # as the synthetic frames are labelled; led forwards in each pass's own time, the two passes would part.
    teacher = copy.copy(teacher)
    teacher.decode = replace(teacher.decode, lead=0.0)
    forward = teacher.track_frames(clip.iter_frames(), total=len(clip), desc=f"{clip.name} forward")
    backward = teacher.track_frames((read_frame(path) for path in reversed(clip.frames)), total=len(clip),
                                    desc=f"{clip.name} backward")
    labels = pseudo_labels(forward, backward, params)
    # A kept ball keeps the teacher's visibility code (1, 2, or 3 for a position filled across an occlusion).
    labels.code = np.where(labels.code == 1, np.clip(forward.track.codes, 1, 3), labels.code)
    return labels, forward


def as_labels(labels: PseudoLabels) -> Labels:
    """The assignment's labels with a confidence per frame: an ignored frame is code 0 with confidence 0."""
    kept_ball = labels.code > 0
    return Labels(np.maximum(labels.code, 0), np.where(kept_ball[:, None], labels.xy, -1.0),
                  np.full(len(labels), -1, np.int64), np.where(labels.kept, labels.confidence, 0.0))


def write_pseudo_labels(clip: Clip, labels: PseudoLabels, overwrite: bool = False) -> Path:
    """Write ``clip``'s ``labels.csv``; one written by people (no confidence column) is kept unless ``overwrite``."""
    path = clip.path / "labels.csv"
    if path.is_file() and not overwrite:
        header = path.read_text().split("\n", 1)[0].lower()
        if CONFIDENCE_COLUMN not in header:
            raise DataError(path, "holds labels without a confidence column (written by people?): not replaced; "
                                  "pass --overwrite to replace them", 1)
    write_labels(path, as_labels(labels), [frame.name for frame in clip.frames])
    return path



def pseudo_label_root(root: Path, teacher: Tracker, games: list[int] | None = None, overwrite: bool = False):
    """Pseudo-label every clip of ``root`` (of ``games``) with ``teacher``, one clip at a time; yields each clip's
    ``labels.csv`` and its counts ``[frames, balls, no ball, ignored]`` (raises :class:`DataError` for bad clips)."""
    for clip in discover_clips(root, games, require_labels=False):
        labels, _ = label_clip(teacher, clip)
        path = write_pseudo_labels(clip, labels, overwrite)
        yield path, np.array([len(labels), (labels.code > 0).sum(), (labels.code == 0).sum(), (~labels.kept).sum()])


if __name__ == "__main__":  # the command line is cli/pseudo_labels.py
    from cli.pseudo_labels import main

    sys.exit(main())
