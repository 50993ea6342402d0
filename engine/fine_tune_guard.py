"""Fine-tuning that never makes a tracker worse: after ``train.py --stage all --init BUNDLE`` the fine-tuned networks
become the run's tracker only when they beat the starting ones on the validation games.

Both get the same treatment first: the fine-tuned stages are bundled and the starting bundle's decoder is calibrated
again (``engine.bundle``), on the same calibration clips, so the comparison is between networks, not between a
decoder fitted to these clips and one fitted elsewhere. Each tracker is then scored with the tracker's metric
(SiBaTrAcc) on the validation games; a tie keeps the starting networks (fine-tuning has to earn its place). The
decision is printed, e.g. ``fine-tuned 0.9140 < starting 0.9500 on validation games 3 (1 clips): keeping the
starting weights``, and recorded in the tracker's provenance (``init_guard``).
"""
from __future__ import annotations

import logging
from pathlib import Path

from data_prep.clips import Clip
from engine.bundle import bundle_tracker, rewrite_bundle, tracks_sibatracc
from model.checkpoint import read_payload
from tracking.decode import DecodeParams
from tracking.tracker import Tracker

log = logging.getLogger(__name__)


def validation_score(weights: Path, clips: list[Clip], device: str = "auto") -> float:
    """SiBaTrAcc of the tracker bundle ``weights`` on labelled ``clips`` (the mean over clips, as evaluate.py)."""
    tracker = Tracker.load(weights, device=device)
    return tracks_sibatracc(clips, [tracker.track_clip(clip) for clip in clips])


def bundle_the_better(out: Path, start: Path, proposal: Path, refine: Path, calibration: dict,
                      clips: list[Clip], device: str = "auto", echo=print) -> dict:
    """Write ``out``: the fine-tuned stages (``proposal``, ``refine`` checkpoints) bundled, or the starting bundle
    ``start`` when those do not beat it on ``clips`` (the validation games). ``calibration``: the arguments of
    :func:`engine.bundle.bundle_tracker` choosing the calibration clips (``data``, ``val_games``,
    ``with_embedded_val``). The two candidates
    are kept beside ``out`` as ``fine_tuned.pt`` and ``starting.pt``. Returns the decision."""
    tuned, starting = out.parent / "fine_tuned.pt", out.parent / "starting.pt"
    if not tuned.is_file():
        bundle_tracker(tuned, proposal, refine, **calibration)
    if not starting.is_file():
        bundle_tracker(starting, recalibrate=start, **calibration)
    score = {name: validation_score(path, clips, device) for name, path in (("fine-tuned", tuned),
                                                                             ("starting", starting))}
    kept = "fine-tuned" if score["fine-tuned"] > score["starting"] else "starting"
    sign = ">" if score["fine-tuned"] > score["starting"] else "<" if score["fine-tuned"] < score["starting"] else "="
    games = " ".join(map(str, sorted({clip.game for clip in clips})))
    line = (f"fine-tuned {score['fine-tuned']:.4f} {sign} starting {score['starting']:.4f} on validation games "
            f"{games} ({len(clips)} clips): keeping the {kept} weights"
            + (f" (the networks of {start}, decoder calibrated on the same clips)" if kept == "starting" else ""))
    echo(line)
    log.info(line)
    decision = {"kept": kept, "sibatracc_fine_tuned": score["fine-tuned"], "sibatracc_starting": score["starting"],
                "start": str(start), "validation_clips": [str(clip.path) for clip in clips]}
    payload = read_payload(tuned if kept == "fine-tuned" else starting, "tracker")
    rewrite_bundle(payload, out, DecodeParams(**payload["decode"]),
                          {**payload.get("provenance", {}), "init_guard": decision})
    return decision
