"""Score tracks against labelled clips: one printed line per clip, ``SiBaTrAcc: 0.xxxx`` last, a JSON report, and
the per-clip / per-frame tables a run logs.

Shared by ``evaluate.py`` for saved predictions and for the tracker, so both print and write the same thing, and by
the stages' validation for their tables.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from data_prep.atomic import write_text_atomic
from data_prep.clips import Clip, DataError
from evaluation.breakdown import ClipFrames, breakdown_lines, failure_breakdown
from evaluation.metrics import (
    DEFAULT_TOLERANCE_PX,
    TRACKNET_TOLERANCE_PX,
    ClipScore,
    DetectionCounts,
    Report,
    detection_counts,
    running_sibatracc,
    score_clip,
)
from evaluation.predictions import Track, write_track
from evaluation.visualize import VideoSink, draw_probability, draw_track

log = logging.getLogger(__name__)

PER_CLIP_COLUMNS = ["clip", "frames", "sibatracc", "precision", "recall", "f1", "mean_error_px"]
FRAME_COLUMNS = ["clip", "frame", "gt_code", "gt_x", "gt_y", "code", "x", "y", "error"]


def gt_track(clip: Clip) -> Track:
    if clip.labels is None:
        raise DataError(clip.path, "clip has no labels; evaluation needs labels.csv or Label.csv")
    return Track(clip.labels.codes, clip.labels.xy)


class KeptTracks:
    """``tracks(clip)`` that keeps every track it returns by clip name, for the tables logged after scoring."""

    def __init__(self, tracks: Callable[[Clip], Track]):
        self._tracks = tracks
        self.tracks: dict[str, Track] = {}

    def __call__(self, clip: Clip) -> Track:
        self.tracks[clip.name] = self._tracks(clip)
        return self.tracks[clip.name]


def score_tracks(clips: list[Clip], tracks: Callable[[Clip], Track], out: Path | None = None,
                 tolerance: float = DEFAULT_TOLERANCE_PX, visualize: bool = False,
                 probability: Callable[[Clip], Iterable[np.ndarray]] | None = None,
                 extra: dict | None = None, echo: Callable[[str], None] = print) -> Report:
    """Score ``tracks(clip)`` on every clip (never skipping one), print per-clip lines, write the report.

    out: folder for ``report.json``, the predictions csv and, with ``visualize``, ``{clip}.mp4`` overlays and,
    when ``probability`` is given, ``{clip}_prob.mp4`` probability videos.
    """
    report = Report(tolerance=tolerance, tracknet=DetectionCounts())
    seconds, scored = 0.0, []
    for clip in clips:
        gt = gt_track(clip)
        started = time.perf_counter()
        track = tracks(clip)
        seconds += time.perf_counter() - started
        if len(track) != len(clip):
            raise DataError(clip.path, f"tracker returned {len(track)} frames for a clip of {len(clip)}")
        score = score_clip(clip.name, gt.codes, gt.xy, track.codes, track.xy, tolerance)
        report.clips.append(score)
        report.tracknet += detection_counts(gt.codes, gt.xy, track.codes, track.xy, TRACKNET_TOLERANCE_PX)
        scored.append(ClipFrames(gt.codes, gt.xy, track.codes, track.xy, clip.size))
        s = score.summary()
        echo(f"{clip.name:>16s}  frames {s['frames']:5d}  SiBaTrAcc {s['sibatracc']:.4f}  "
             f"P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}  err {s['mean_error_px']:.2f}px")
        if out is not None:
            write_track(Path(out) / "predictions" / f"{clip.name}.csv", track)
            if visualize:
                frames = draw_track(clip.iter_frames(), track, gt, running_sibatracc(score.errors))
                write_video(Path(out) / "videos" / f"{clip.name}.mp4", frames)
                if probability is not None:
                    write_video(Path(out) / "videos" / f"{clip.name}_prob.mp4",
                                draw_probability(clip.iter_frames(), probability(clip)))
    frames = sum(len(clip) for clip in clips)
    speed = {"frames_per_second": frames / seconds if seconds else None, "seconds": seconds}
    report.breakdown = failure_breakdown(scored, tolerance)
    if out is not None:
        write_report(Path(out) / "report.json", report, {**speed, **(extra or {})})
    for line in breakdown_lines(report.breakdown):
        echo(line)
    c, t = report.counts, report.tracknet
    echo(f"{'all clips':>16s}  P {c.precision:.3f}  R {c.recall:.3f}  F1 {c.f1:.3f} at {tolerance:g} px;  P "
         f"{t.precision:.3f}  R {t.recall:.3f}  F1 {t.f1:.3f} at TrackNet's {TRACKNET_TOLERANCE_PX:g} px")
    echo(f"{frames} frames in {seconds:.1f} s ({speed['frames_per_second'] or 0:.1f} frames/s, reading included)")
    echo(f"SiBaTrAcc: {report.sibatracc:.4f}")
    return report


def score_tables(clips: list[Clip], tracks: list[Track], scores: list[ClipScore]) -> dict[str, tuple[list, list]]:
    """The tables a run logs, as ``{name: (columns, rows)}`` of plain Python values.

    per_clip: one row per clip (``PER_CLIP_COLUMNS``); frame_errors: one row per frame (``FRAME_COLUMNS``): the
    label, the prediction and the SiBaTrAcc error, so worst frames can be found and drawn later.
    """
    per_clip, frames = [], []
    for clip, track, score in zip(clips, tracks, scores, strict=True):
        summary = score.summary()
        per_clip.append([_plain(summary[c]) for c in PER_CLIP_COLUMNS])
        gt = gt_track(clip)
        for t in range(len(track)):
            frames.append([clip.name, t, int(gt.codes[t]), *_xy(gt.xy[t]), int(track.codes[t]), *_xy(track.xy[t]),
                           round(float(score.errors[t]), 4)])
    return {"per_clip": (PER_CLIP_COLUMNS, per_clip), "frame_errors": (FRAME_COLUMNS, frames)}


def _xy(xy: np.ndarray) -> list[float]:
    return [round(float(xy[0]), 2), round(float(xy[1]), 2)]


def _plain(value):
    return value.item() if isinstance(value, (np.integer, np.floating)) else value


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> None:
    with VideoSink(path, fps) as sink:
        for frame in frames:
            sink.write(frame)


def write_report(path: Path, report: Report, extra: dict | None = None) -> None:
    """JSON with overall figures, the failure breakdown, every clip's figures and per-frame errors; atomic."""
    data = {"overall": report.summary(), "breakdown": report.breakdown, **(extra or {}),
            "clips": [{**clip.summary(), "frame_errors": clip.errors.round(4).tolist()} for clip in report.clips]}
    write_text_atomic(path, json.dumps(_finite(data), indent=1, default=_json_default, allow_nan=False))


def _finite(value):
    """NaN (e.g. the mean error of a clip with no matched frame) becomes null so any JSON reader accepts it."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
