"""What the ball did: hits and bounces on a track, one frame each.

    python -m tracking.events runs/track_1/track.csv --out events/           # -> events/track.csv (+ event column)
    python -m tracking.events a.csv b.csv --out DIR --size 1920 1080 --fps 50

Reads track CSVs as ``track.py`` writes them (``frame,code,x,y``, x = y = -1 when there is no ball; more columns
are kept) and writes ``DIR/<same name>.csv``: the same rows plus an ``event`` column, ``''``, ``hit`` or ``bounce``.
Frame size and rate (default 1280x720, 30 fps) only normalise the track: the detector sees positions as
fractions of the frame at 30 fps (:mod:`data_prep.events`). Bad input stops with ``error: <file>:<line>: ...``
and exit status 2: missing columns, NaN or unparsable cells, unsorted or duplicate frames.

The detector (:class:`EventDetector`) is the shipped ``weights/events.pt``: :class:`model.events.EventNet`'s
per-frame probabilities, then one frame per event (:func:`pick_events`). :func:`classical_events` is the rule
public trackers use (a bounce where the image motion turns from down to up, a hit where the direction reverses),
kept as the baseline it beats (``bench/events.py``).
"""
from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from data_prep.atomic import atomic_path
from data_prep.clips import DataError
from data_prep.events import EVENT_NAMES, NET_FPS, EventTrack, net_input, resample
from data_prep.paths import PROJECT_ROOT
from data_prep.tracks import interpolate_gaps, read_track_file
from evaluation.events import tolerance_frames

if TYPE_CHECKING:
    from model.events import EventNet

log = logging.getLogger(__name__)

DEFAULT_EVENTS = PROJECT_ROOT / "weights" / "events.pt"
NMS_AT_30 = 3  # two events are at least this many frames apart at 30 fps (scaled with the rate)


class EventDetector:
    """The learned detector: per-frame probabilities at 30 fps, mapped back to the track's rate, then peaks.

    The network runs on PyTorch, imported here only when a detector is built: reading tracks, picking events and
    the classical rule need none (an ONNX-only install tracks without events, :func:`tracking.video_job`)."""

    def __init__(self, model: EventNet, threshold: float = 0.5, device: str = "cpu"):
        import torch

        self.model, self.threshold, self.device = model.to(device).eval(), threshold, torch.device(device)

    @classmethod
    def load(cls, path: Path | str | None = None, device: str = "cpu") -> EventDetector:
        """From ``weights/events.pt`` (checked against ``weights/SHA256SUMS``) or a ``train.py --stage events``
        checkpoint."""
        from model.checkpoint import CheckpointError, read_payload
        from model.events import build_events
        from tracking.weights import known_checksum, verify  # noqa: PLC0415 (weights loads every network module)

        path = Path(path) if path is not None else DEFAULT_EVENTS
        if path.resolve() == DEFAULT_EVENTS.resolve() and path.is_file():
            verify(path, known_checksum(DEFAULT_EVENTS.name))
        payload = read_payload(path, "events")
        try:
            model = build_events(payload["model_args"])
            model.load_state_dict(payload["model"])
        except (KeyError, TypeError, RuntimeError) as error:
            raise CheckpointError(f"{path}: event weights do not match the code: {error}") from None
        return cls(model, float(payload.get("metrics", {}).get("best_threshold", 0.5)), device)

    @classmethod
    def shipped(cls) -> EventDetector | None:
        """The shipped detector, or None (with a warning) when ``weights/events.pt`` is missing or unusable."""
        try:
            from model.checkpoint import CheckpointError
        except ImportError as error:  # an ONNX-only install: the event net runs on PyTorch
            log.warning("no event detection without PyTorch: %s", error)
            return None
        try:
            return cls.load()
        except CheckpointError as error:
            log.warning("no event detection: %s", error)
            return None

    def probabilities(self, track: EventTrack) -> np.ndarray:
        """(n, 3) per-frame probabilities of none / hit / bounce at the track's own rate."""
        import torch

        feats = net_input(track)
        with torch.no_grad():
            logits = self.model(torch.from_numpy(feats)[None].to(self.device))[0]
        prob = logits.softmax(0).cpu().numpy().T  # (m, 3) at NET_FPS
        at = np.arange(len(track)) * NET_FPS / track.fps
        return np.stack([np.interp(at, np.arange(len(prob)), prob[:, k]) for k in range(3)], axis=1)

    def detect(self, track: EventTrack) -> np.ndarray:
        """(n,) int64 events: 0 none, 1 hit, 2 bounce, one frame per event."""
        if len(track) == 0:
            return np.zeros(0, np.int64)
        return pick_events(self.probabilities(track), self.threshold, track.fps)


def pick_events(prob: np.ndarray, threshold: float, fps: float = NET_FPS) -> np.ndarray:
    """One frame per event from per-frame probabilities (n, 3): the frames where the chance of an event (hit +
    bounce) peaks above ``threshold``, the strongest first, none closer than :data:`NMS_AT_30` frames at 30 fps to a
    kept one; each of the kind that is likelier there."""
    event = prob[:, 1] + prob[:, 2]
    radius = tolerance_frames(fps, NMS_AT_30)
    out = np.zeros(len(prob), np.int64)
    kept: list[int] = []
    for frame in np.argsort(-event, kind="stable"):
        if event[frame] < threshold:
            break
        if all(abs(frame - k) >= radius for k in kept):
            kept.append(int(frame))
            out[frame] = 1 if prob[frame, 1] >= prob[frame, 2] else 2
    return out


def classical_events(track: EventTrack, turn_cos: float = 0.5, gap: int = 4) -> np.ndarray:
    """The classical rule on the track at 30 fps, mapped back to its rate: where the motion over 2 frames before
    and after a frame turns by more than acos(``turn_cos``), or its vertical image motion flips. A bounce where it
    turns from down to up without speeding up; any other turn is a hit. Gaps up to ``gap`` frames are bridged
    straight first."""
    xy, present = resample(track.xy, track.present, track.fps, NET_FPS)
    present, xy = interpolate_gaps(present, xy, gap)
    n = len(present)
    strength = np.zeros(n)
    kind = np.zeros(n, np.int64)
    for t in range(2, n - 2):
        if not (present[t - 2] and present[t] and present[t + 2]):
            continue
        before, after = xy[t] - xy[t - 2], xy[t + 2] - xy[t]
        norm = np.linalg.norm(before) * np.linalg.norm(after)
        if norm < 1e-6:
            continue
        cos = float(before @ after / norm)
        down_up = before[1] > 0 > after[1]
        if cos < turn_cos or down_up or before[1] < 0 < after[1]:
            strength[t] = 1 - cos + (0.5 if down_up else 0)
            faster = np.linalg.norm(after) > 1.3 * np.linalg.norm(before)
            kind[t] = 2 if down_up and not faster else 1
    picked = np.zeros(n, np.int64)
    for frame in np.argsort(-strength, kind="stable"):
        if strength[frame] <= 0:
            break
        if not picked[max(0, frame - NMS_AT_30 + 1):frame + NMS_AT_30].any():
            picked[frame] = kind[frame]
    out = np.zeros(len(track), np.int64)
    for frame in np.flatnonzero(picked):
        out[min(len(track) - 1, int(round(frame * track.fps / NET_FPS)))] = picked[frame]
    return out


# ----------------------------------------------------------------------------------------------------- csv files


def read_track_csv(path: Path, size: tuple[int, int] = (1280, 720), fps: float = NET_FPS
                   ) -> tuple[EventTrack, list[str], list[list[str]]]:
    """A ``frame,code,x,y[,...]`` track csv (:func:`data_prep.tracks.read_track_file`): (the track over frames
    first..last, header, rows as read). Frames missing between two rows count as no ball. Raises
    :class:`DataError` naming the line."""
    rows = read_track_file(path)
    if not len(rows.frames):
        raise DataError(path, "no rows after the header", 1)
    first, n = int(rows.frames[0]), int(rows.frames[-1] - rows.frames[0]) + 1
    full_xy, present = np.full((n, 2), -1.0), np.zeros(n, bool)
    present[rows.frames - first] = rows.codes > 0
    full_xy[rows.frames - first] = rows.xy
    track = EventTrack(Path(path).stem, 0, full_xy, present, np.full(n, -1, np.int64), tuple(size), float(fps))
    return track, rows.header, rows.rows


def write_event_csv(path: Path, header: list[str], rows: list[list[str]], first_frame: int,
                    events: np.ndarray) -> None:
    """The rows of :func:`read_track_csv` with an ``event`` column (replaced if there was one)."""
    names = [h.strip().lower() for h in header]
    keep = [i for i, name in enumerate(names) if name != "event"]
    frame_col = names.index("frame")
    with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([header[i] for i in keep] + ["event"])
        for row in rows:
            frame = int(float(row[frame_col])) - first_frame
            writer.writerow([row[i] for i in keep] + [EVENT_NAMES[int(events[frame])]])


if __name__ == "__main__":  # the command line is cli/events.py
    from cli.events import main

    sys.exit(main())
