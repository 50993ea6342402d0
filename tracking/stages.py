"""What each stage alone would answer, next to the full tracker: the side-by-side comparison of the stages.

* proposal: the top-1 heatmap peak when its score passes the proposal's validated threshold;
* refine: the candidate the refiner trusts most when its ball probability passes 0.5, frame by frame;
* tracker: the refined candidates decoded over the whole clip (motion model, gap filling).

And where each ball the tracker misses was lost (:func:`recall_losses`): among the proposal's candidates none is
near it, the refiner's pick is not it, or the refiner had it and the decoder let it go.
"""
from __future__ import annotations

import time

import numpy as np

from data_prep.clips import Clip
from evaluation.metrics import DEFAULT_TOLERANCE_PX, Report, score_clip
from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined

REFINE_THRESHOLD = 0.5  # ball probability above which the best refined candidate is called a ball


def top1_track(candidates: Candidates, threshold: float) -> Track:
    """The best proposal of each frame when its score passes ``threshold``, else "no ball" at (-1, -1)."""
    present = candidates.score[:, 0] >= threshold
    return Track(present.astype(np.int64), np.where(present[:, None], candidates.xy[:, 0], -1.0))


def best_refined(refined: Refined, threshold: float = REFINE_THRESHOLD) -> Track:
    """Per frame the candidate the refiner trusts most; "no ball" (-1, -1) below ``threshold``."""
    best = refined.prob.argmax(axis=1)
    rows = np.arange(len(best))
    present = refined.prob[rows, best] >= threshold
    return Track(np.where(present, refined.code[rows, best], 0).astype(np.int64),
                 np.where(present[:, None], refined.xy[rows, best], -1.0))


def recall_losses(gt_codes: np.ndarray, gt_xy: np.ndarray, candidates: Candidates, pick: Track | None,
                  track: Track, tolerance: float = DEFAULT_TOLERANCE_PX) -> dict[str, int]:
    """Labelled balls (code > 0) the tracker misses (no position within ``tolerance``), by the stage that lost them.

    ``balls``: labelled balls; ``in_candidates``: those with a proposal candidate within ``tolerance``; of the
    missed ones, ``lost_proposal``: no candidate near the ball; ``lost_refiner``: a candidate is near it but the
    refiner's pick (``pick``: :func:`best_refined`) is not; ``lost_decoder``: the refiner's pick is the ball and the
    decoded ``track`` is not. Without a refiner (``pick`` None) the last two are one: ``lost_refiner`` stays 0.
    """
    ball = np.asarray(gt_codes) > 0

    def hits(xy: np.ndarray, present: np.ndarray) -> np.ndarray:
        return present & (np.linalg.norm(xy - gt_xy, axis=-1) <= tolerance)

    near = (np.linalg.norm(candidates.xy - gt_xy[:, None], axis=-1) <= tolerance).any(axis=1) & ball
    found = hits(track.xy, track.codes > 0) & ball
    picked = near if pick is None else hits(pick.xy, pick.codes > 0) & ball
    missed = ball & ~found
    return {"balls": int(ball.sum()), "in_candidates": int(near.sum()), "found": int(found.sum()),
            "lost_proposal": int((missed & ~near).sum()), "lost_refiner": int((missed & near & ~picked).sum()),
            "lost_decoder": int((missed & near & picked).sum())}


def compare_stages(tracker, clips: list[Clip], echo=print) -> dict:
    """Score proposal-only, proposal + refine and the full tracker on labelled clips; print a table, the tracker's
    figures clip by clip (``tracker_clips``: SiBaTrAcc is a mean over clips, so one clip can move it a lot) and where
    its misses were lost (:func:`recall_losses`, summed over the clips)."""
    reports = {"proposal": Report(), "refine": Report(), "tracker": Report()}
    losses: dict[str, int] = {}
    frames, seconds = 0, 0.0
    for clip in clips:
        started = time.perf_counter()
        out = tracker.track_frames(clip.iter_frames())
        seconds += time.perf_counter() - started
        frames += len(clip)
        tracks = {"proposal": top1_track(out.candidates, tracker.proposal.threshold), "tracker": out.track}
        if out.refined is not None:
            tracks["refine"] = best_refined(out.refined)
        for name, track in tracks.items():
            reports[name].clips.append(score_clip(clip.name, clip.labels.codes, clip.labels.xy, track.codes, track.xy))
        for key, count in recall_losses(clip.labels.codes, clip.labels.xy, out.candidates, tracks.get("refine"),
                                        out.track).items():
            losses[key] = losses.get(key, 0) + count
    result = {name: report.summary() for name, report in reports.items() if report.clips}
    result["fps_decode_included"] = frames / seconds
    echo("each stage alone, then the full tracker: proposal = its top-1 peak; refine = the refiner's best candidate "
         "per frame, no decoder (a weak row on its own is expected); tracker = what track.py outputs")
    echo(f"{'stage':<10s} {'SiBaTrAcc':>9s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'err px':>7s}")
    for name, s in result.items():
        if isinstance(s, dict):
            echo(f"{name:<10s} {s['sibatracc']:9.4f} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} "
                 f"{s['mean_error_px']:7.2f}")
    clip_rows = [clip.summary() for clip in reports["tracker"].clips]
    echo(f"{'tracker, clip by clip':<24s} {'frames':>6s} {'SiBaTrAcc':>9s} {'false ball':>10s} {'off >8px':>8s} "
         f"{'missed':>6s}")
    for row in clip_rows:
        echo(f"{row['clip']:<24s} {row['frames']:6d} {row['sibatracc']:9.4f} {row['fp2']:10d} {row['fp1']:8d} "
             f"{row['fn']:6d}")
    balls = max(losses["balls"], 1)
    echo(f"balls {losses['balls']}: {losses['in_candidates'] / balls:.3f} among the {tracker.top_k} candidates, "
         f"{losses['found'] / balls:.3f} found; missed because of the proposal {losses['lost_proposal']}, "
         f"the refiner {losses['lost_refiner']}, the decoder {losses['lost_decoder']}")
    echo(f"tracker speed: {result['fps_decode_included']:.1f} frames/s (JPEG decode included)")
    return {**result, "tracker_clips": clip_rows, "recall_losses": losses}
