"""What each stage alone would answer, next to the full tracker: the side-by-side comparison of the stages.

* proposal: the top-1 heatmap peak when its score passes the proposal's validated threshold;
* refine: the candidate the refiner trusts most when its ball probability passes 0.5, frame by frame;
* tracker: the refined candidates decoded over the whole clip (motion model, gap filling).
"""
from __future__ import annotations

import time

import numpy as np

from data_prep.clips import Clip
from evaluation.metrics import Report, score_clip
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


def compare_stages(tracker, clips: list[Clip], echo=print) -> dict:
    """Score proposal-only, proposal + refine and the full tracker on labelled clips; print a table."""
    reports = {"proposal": Report(), "refine": Report(), "tracker": Report()}
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
    result = {name: report.summary() for name, report in reports.items() if report.clips}
    result["fps_decode_included"] = frames / seconds
    echo(f"{'stage':<10s} {'SiBaTrAcc':>9s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'err px':>7s}")
    for name, s in result.items():
        if isinstance(s, dict):
            echo(f"{name:<10s} {s['sibatracc']:9.4f} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} "
                 f"{s['mean_error_px']:7.2f}")
    echo(f"tracker speed: {result['fps_decode_included']:.1f} frames/s (JPEG decode included)")
    return result
