"""Label audit: frames whose label contradicts its neighbours, and clips that break the convention of the rest of
the set, reported before anything trains on them.

    python -m data_prep.label_audit audit ROOT [--games G ...] [--strict] [--jump-px 64] [--hidden-px 48]

Prints one line per finding, ``ROOT/gameG/clipC/labels.csv:LINE: kind: detail`` (LINE: the frame's row), then a
summary. Exit status 0, or 1 with ``--strict`` when anything is found; bad input (a clip or label file that cannot
be read) ``error: <file>:<line>: <message>`` and exit status 2. Distances are pixels of a 1280-wide frame, scaled to
each clip's width. Kinds:

* ``lone-present``: the ball present for at most 2 frames between absent runs of at least 3 frames;
* ``lone-absent`` / ``lone-hidden``: a gap of at most 2 frames in a flight (3 visible frames or more on each side)
  labelled absent (code 0) where the set labels most such gaps hidden (code 3), or the other way round: which of
  the two a set does is its convention (TrackNetV3 badminton has no code 3), only the minority is reported;
* ``still-absent``: no ball for 3 frames or more between two stretches of a still ball at the same place (a held or
  lying ball left unlabelled for a while, or hidden: look);
* ``jump``: a visible ball at least ``--jump-px`` from both neighbours while they are closer to each other than to
  it (a ball reversing at that speed within one frame is rarer than a slip of the mouse);
* ``hidden-off-path``: a code 3 frame (hidden, its position filled in) at least ``--hidden-px`` from the straight
  line between the visible frames on either side of its hidden run;
* ``start`` / ``end``: how a clip's first (last) frames are labelled against the rest of the set. A clip starts
  (ends) ``absent``, ``still`` (present, moving at most ``--still-px`` a frame: a ball or shuttle held before the
  serve, lying after the rally), ``moving`` (cut mid-flight) or ``outside`` (absent next to a ball at the frame's
  border: it enters or leaves); the last two say nothing of a convention. When the set holds both ``absent`` and
  ``still`` clips, those of the smaller group are reported (a tie reports the ``absent`` ones: code 0 means no ball
  in the frame, and a held ball is in it).
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.clips import LABEL_FILES, Clip, Labels, read_csv_rows

REFERENCE_WIDTH = 1280  # the thresholds are pixels of a frame this wide
LONE = 2  # a run of at most this many frames ...
CONTEXT = 3  # ... between runs of at least this many of the other state contradicts them
EDGE = 6  # frames at a clip's start (end) whose motion says held (lying) or flying
BORDER = 0.02  # of the frame's width: a ball this close to the border enters or leaves the frame


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Thresholds:
    jump_px: float = 64.0
    hidden_px: float = 48.0
    still_px: float = 4.0


def runs(states: np.ndarray) -> list[tuple[int, int, int]]:
    """(state, first frame, length) of each run of equal values of ``states`` (n,), in order."""
    states = np.asarray(states)
    if states.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, states[1:] != states[:-1]])
    lengths = np.diff(np.r_[starts, states.size])
    return [(int(states[s]), int(s), int(n)) for s, n in zip(starts, lengths)]


def row_lines(path: Path) -> list[int]:
    """The line of each frame's row in a label file (the non-blank rows after the header, as read_labels reads)."""
    return [line for line, row in enumerate(read_csv_rows(path)[1:], start=2) if any(cell.strip() for cell in row)]


def label_file(clip: Clip) -> Path:
    return next(clip.path / name for name in LABEL_FILES if (clip.path / name).is_file())


def lone_runs(labels: Labels) -> tuple[list[tuple[str, int, int, int, int]], list[tuple[str, int, int]]]:
    """Runs that contradict their neighbours: (``lone-present``, first frame, length, run before, run after) for a
    ball present between absent runs, and the in-flight gaps (``absent`` or ``hidden``, first frame, length)."""
    present = runs(labels.visible)
    lone = [("lone-present", s, n, present[i - 1][2], present[i + 1][2])
            for i, (state, s, n) in enumerate(present[1:-1], start=1)
            if state and n <= LONE and min(present[i - 1][2], present[i + 1][2]) >= CONTEXT]
    # 0 absent, 1 visible (codes 1, 2), 3 hidden: a gap is a short absent or hidden run inside a visible flight
    kinds = runs(np.where(labels.codes == 3, 3, np.minimum(labels.codes, 1)))
    gaps = [("absent" if state == 0 else "hidden", s, n) for i, (state, s, n) in enumerate(kinds[1:-1], start=1)
            if state != 1 and n <= LONE and kinds[i - 1][0] == kinds[i + 1][0] == 1
            and min(kinds[i - 1][2], kinds[i + 1][2]) >= CONTEXT]
    return lone, gaps


def still_gaps(labels: Labels, still_px: float) -> list[tuple[int, int, float]]:
    """(first frame, length, distance) of each absent run longer than a lone gap between a still ball and the same
    still ball: at least 2 present frames on each side moving at most ``still_px`` a frame, the two ends within 4
    ``still_px`` of each other (a held or lying ball, hidden or left unlabelled for a while)."""
    found = []
    present = runs(labels.visible)
    for i, (state, s, n) in enumerate(present[1:-1], start=1):
        if state or n <= LONE:
            continue
        before = labels.xy[max(present[i - 1][1], s - EDGE):s]
        after = labels.xy[s + n:s + n + min(EDGE, present[i + 1][2])]
        distance = float(np.linalg.norm(before[-1] - after[0]))
        if (min(len(before), len(after)) >= 2 and distance <= 4 * still_px
                and max(_median_step(before), _median_step(after)) <= still_px):
            found.append((s, n, distance))
    return found


def _median_step(xy: np.ndarray) -> float:
    return float(np.median(np.linalg.norm(np.diff(xy, axis=0), axis=1)))


def jumps(labels: Labels, jump_px: float) -> list[tuple[int, float, float]]:
    """(frame, distance to the nearer neighbour, distance between the neighbours) of each visible ball at least
    ``jump_px`` from both its (present) neighbours while they are closer to each other than to it."""
    found = []
    xy, present = labels.xy, labels.visible
    for t in range(1, len(labels) - 1):
        if labels.codes[t] in (1, 2) and present[t - 1] and present[t + 1]:
            near = min(np.linalg.norm(xy[t] - xy[t - 1]), np.linalg.norm(xy[t] - xy[t + 1]))
            apart = float(np.linalg.norm(xy[t + 1] - xy[t - 1]))
            if near >= jump_px and apart < near:
                found.append((t, float(near), apart))
    return found


def hidden_off_path(labels: Labels, hidden_px: float) -> list[tuple[int, float, int, int]]:
    """(frame, distance, visible frame before, after) of each code 3 frame at least ``hidden_px`` from the straight
    line between the visible frames on either side of its hidden run (runs at a clip's edge or next to an absent
    frame have no such line and are skipped)."""
    found = []
    for state, s, n in runs(labels.codes == 3):
        before, after = s - 1, s + n
        if not state or before < 0 or after >= len(labels) or not (labels.codes[[before, after]] > 0).all():
            continue
        for t in range(s, s + n):
            line = labels.xy[before] + (labels.xy[after] - labels.xy[before]) * (t - before) / (after - before)
            if (distance := float(np.linalg.norm(labels.xy[t] - line))) >= hidden_px:
                found.append((t, distance, before, after))
    return found


def edge_state(labels: Labels, still_px: float, size: tuple[int, int], end: bool = False) -> tuple[str, int]:
    """How the clip's first (``end``: last) frames are labelled: (``absent`` / ``outside`` / ``still`` /
    ``moving``, the length of that first run of absent or present frames). ``outside``: absent frames next to a ball
    at the frame's border (it enters or leaves the frame: no evidence of a convention)."""
    order = np.arange(len(labels))[::-1] if end else np.arange(len(labels))
    present = labels.visible[order]
    _, _, length = runs(present)[0]
    if not present[0]:
        if length == len(labels):
            return "absent", length
        x, y = labels.xy[order[length]]
        margin = BORDER * size[0]
        return ("outside" if min(x, y, size[0] - 1 - x, size[1] - 1 - y) < margin else "absent"), length
    steps = np.linalg.norm(np.diff(labels.xy[order[:min(length, EDGE)]], axis=0), axis=1)
    return ("moving" if steps.size and np.median(steps) > still_px else "still"), length


def audit(clips: list[Clip], limits: Thresholds = Thresholds()) -> tuple[list[Finding], dict]:
    """The findings over labelled ``clips`` (in clip and line order) and the summary's counts."""
    findings: list[Finding] = []
    gaps: dict[str, list[tuple[Path, int, int, Clip]]] = {"absent": [], "hidden": []}
    edges: dict[str, dict[str, list]] = {"start": {}, "end": {}}
    for clip in clips:
        labels, path = clip.labels, label_file(clip)
        lines = row_lines(path)
        scale = clip.size[0] / REFERENCE_WIDTH
        lone, clip_gaps = lone_runs(labels)
        for kind, s, n, before, after in lone:
            findings.append(Finding(path, lines[s], kind, f"ball present for {n} frame{'s' * (n > 1)} between "
                                                          f"{before} absent frames before and {after} after"))
        for state, s, n in clip_gaps:
            gaps[state].append((path, lines[s], n, clip))
        for s, n, distance in still_gaps(labels, limits.still_px * scale):
            findings.append(Finding(path, lines[s], "still-absent", f"no ball for {n} frames between frames where "
                                    f"it stands still {distance:.0f} px apart: hidden, or a held (lying) ball left "
                                    "unlabelled?"))
        for t, near, apart in jumps(labels, limits.jump_px * scale):
            findings.append(Finding(path, lines[t], "jump", f"ball at {_xy(labels.xy[t])} is {near:.0f} px from both "
                                    f"neighbours, which are {apart:.0f} px apart"))
        for t, distance, before, after in hidden_off_path(labels, limits.hidden_px * scale):
            findings.append(Finding(path, lines[t], "hidden-off-path", f"hidden ball at {_xy(labels.xy[t])} is "
                                    f"{distance:.0f} px off the line from frame {before} to frame {after}"))
        for side in edges:
            state, length = edge_state(labels, limits.still_px * scale, clip.size, end=side == "end")
            edges[side].setdefault(state, []).append((path, lines[-1 if side == "end" else 0], length))
    findings += _gap_minority(gaps) + _edge_minority(edges)
    order = {label_file(clip): i for i, clip in enumerate(clips)}
    findings.sort(key=lambda f: (order[f.path], f.line))
    summary = {"clips": len(clips), "frames": sum(len(clip) for clip in clips),
               "kinds": dict(Counter(f.kind for f in findings)),
               "gaps": {state: len(found) for state, found in gaps.items()},
               "start": {state: len(found) for state, found in edges["start"].items()},
               "end": {state: len(found) for state, found in edges["end"].items()}}
    return findings, summary


def _gap_minority(gaps: dict[str, list]) -> list[Finding]:
    """The in-flight gaps labelled against the set's convention (absent or hidden, whichever most gaps are)."""
    absent, hidden = len(gaps["absent"]), len(gaps["hidden"])
    if not absent or not hidden:
        return []
    minority = "absent" if absent <= hidden else "hidden"
    majority, count = ("hidden", hidden) if minority == "absent" else ("absent", absent)
    return [Finding(path, line, f"lone-{minority}", f"{n} frame{'s' * (n > 1)} labelled {minority} inside a flight; "
                    f"{count} of {absent + hidden} such gaps in the set are labelled {majority}")
            for path, line, n, _ in gaps[minority]]


def _edge_minority(edges: dict[str, dict[str, list]]) -> list[Finding]:
    """Clips whose first (last) frames are labelled against the set: absent where most are still, or the reverse."""
    found = []
    for side, states in edges.items():
        absent, still = states.get("absent", []), states.get("still", [])
        if not absent or not still:
            continue
        minority, majority = (absent, still) if len(absent) <= len(still) else (still, absent)
        kind = "absent" if minority is absent else "still"
        voted = len(absent) + len(still)
        what = {"start": "held before the serve", "end": "lying after the rally"}[side]
        first = {"start": "first", "end": "last"}[side]
        for path, line, length in minority:
            detail = (f"the {first} {length} frames label no ball; {len(majority)} of {voted} clips {side} with it "
                      f"present and still ({what}?)" if kind == "absent" else
                      f"the ball is present and still in the {first} {length} frames ({what}?); {len(majority)} of "
                      f"{voted} clips {side} with it absent")
            found.append(Finding(path, line, side, detail))
    return found


def _xy(xy: np.ndarray) -> str:
    return f"({xy[0]:.0f}, {xy[1]:.0f})"


if __name__ == "__main__":  # the command line is cli/label_audit.py
    from cli.label_audit import main

    sys.exit(main())
