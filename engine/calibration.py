"""What calibrating the decoder buys on clips it has not seen: each game (match) scored with a decoder calibrated on
the others (``python bench/calibration.py`` prints it; self-training judges its rounds with it).

The search starts from the default decoder parameters, not from the bundle's: a bundle calibrated on game G would
otherwise pass them on wherever the grid ties. The mean over clips of the calibrated column (SiBaTrAcc's own
averaging) is the figure to report, with precision, recall and F1 at TrackNet's 10 px pooled over the held-out
clips' frames (the papers' figures).
"""
from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np

from data_prep.clips import Clip
from engine.bundle import decode_score, leave_one_game_out, track_outputs
from evaluation.metrics import TRACKNET_TOLERANCE_PX, DetectionCounts, detection_counts
from tracking.decode import DecodeParams, decode_track
from tracking.output import ClipOutput
from tracking.tracker import Tracker
from tracking.weights import sha256_of


def cached_outputs(tracker: Tracker, clips: list[Clip], cache: Path | None) -> list[ClipOutput]:
    """The networks' outputs on ``clips``, read from ``cache`` when that folder holds them for the same weights
    (keyed by the bundle's sha256 and the clip's folder), computed and stored there otherwise."""
    if cache is None:
        return track_outputs(tracker, clips)
    key = sha256_of(Path(tracker.source))[:16]
    files = [cache / key / f"{str(clip.path.resolve()).strip('/').replace('/', '_')}.pkl" for clip in clips]
    missing = [i for i, f in enumerate(files) if not f.exists()]
    for i, output in zip(missing, track_outputs(tracker, [clips[i] for i in missing])):
        files[i].parent.mkdir(parents=True, exist_ok=True)
        files[i].write_bytes(pickle.dumps(output))
    return [pickle.loads(f.read_bytes()) for f in files]


def leave_one_match_out(tracker: Tracker, clips: list[Clip], extra_clips: list[Clip] = (),
                        cache: Path | None = None) -> dict:
    """Each game of ``clips`` scored with the default decoder, with one calibrated on the other games (plus
    ``extra_clips``, e.g. the embedded validation games) and with the bundle's own parameters.

    Returns ``{"games": one row per clip, "sibatracc_base", "sibatracc_calibrated", "sibatracc_bundled": means over
    clips, "calibrated_tracknet": {"tolerance_px", "precision", "recall", "f1"}}``.
    """
    outputs = cached_outputs(tracker, clips, cache)
    extra = (cached_outputs(tracker, list(extra_clips), cache), list(extra_clips))
    rows = leave_one_game_out(outputs, clips, DecodeParams(), extra)
    counts = DetectionCounts()
    for row, output, clip in zip(rows, outputs, clips):
        row["sibatracc_bundled"] = decode_score([output], [clip], tracker.decode)
        out = output.refined
        track = decode_track(out.xy, out.prob, out.code, replace(DecodeParams(), **row["decode"]),
                             output.candidates.score, clip.size)
        counts += detection_counts(clip.labels.codes, clip.labels.xy, track.codes, track.xy, TRACKNET_TOLERANCE_PX)
    base, calibrated, bundled = (float(np.mean([r[f"sibatracc_{k}"] for r in rows]))
                                 for k in ("base", "calibrated", "bundled"))
    return {"games": rows, "sibatracc_base": base, "sibatracc_calibrated": calibrated, "sibatracc_bundled": bundled,
            "calibrated_tracknet": {"tolerance_px": TRACKNET_TOLERANCE_PX, "precision": counts.precision,
                                    "recall": counts.recall, "f1": counts.f1}}
