"""Bundle trained stages into one tracker file, with the decoder's parameters calibrated on validation clips.
(Reading a bundle is inference's: :func:`tracking.weights.load_bundle`.)

    python -m cli.bundle --proposal runs/proposal_1/best.pt --refine runs/refine_1/best.pt \
        --out weights/tracker.pt [--data ROOT --val-games 3]
    python -m cli.bundle --recalibrate weights/tracker.pt --data data/tennis_real --val-games 1 2 3 \
        [--with-embedded-val] --out runs/real_calibrated.pt        # redo an existing bundle's calibration

The decoder's few costs (presence bias, start cost, gap length, weight of the proposal's score, what a ball that
barely moves pays) are chosen by a grid search maximising the mean of SiBaTrAcc and F1 at TrackNet's 10 px on the
calibration clips (SiBaTrAcc alone prefers a doubtful ball to none, F1 the other way round), then the lead given
them (how far along its motion the labels put a blurred ball); the stages' outputs are computed once and only the
cheap decoding is repeated.
``--with-embedded-val`` adds the embedded synthetic validation games to the calibration clips (the real TrackNet
clips hold no frame without a ball, so real clips alone cannot teach the decoder when to say "no ball").
How much a calibration helps on data it has not seen: ``python bench/calibration.py`` (leave one game out).
``python -m engine.bundle`` runs the command too.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_prep.atomic import write_text_atomic
from data_prep.clips import Clip, discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from data_prep.splits import resolve_splits
from engine.checkpoint import save_checkpoint
from engine.config import git_commit
from evaluation.metrics import TRACKNET_TOLERANCE_PX, DetectionCounts, Report, detection_counts, score_clip
from evaluation.predictions import Track
from model.checkpoint import DIGEST, check_contents, content_digest, load_checkpoint, read_payload
from tracking.decode import (
    DecodeParams,
    chosen_track,
    decode_track,
    emission_costs,
    fill_track,
    viterbi,
    viterbi_batch,
)
from tracking.output import ClipOutput
from tracking.tracker import Tracker
from tracking.weights import (
    load_bundle,
    load_proposal,
    load_refine,
    refine_part,
    sha256_of,
    stage_part,
)

log = logging.getLogger(__name__)

GRID = {"presence_bias": [-6.0, -4.5, -3.0, -2.0, -1.0, 0.0, 1.0], "start_cost": [1.0, 3.0, 5.0, 8.0, 12.0, 16.0],
        "max_gap": [3, 6, 9, 12], "proposal_weight": [0.0, 0.5, 1.0, 2.0], "static_px": [1.0, 3.0, 6.0, 10.0],
        "static_cost": [0.5, 1.5, 3.0]}
EMISSION_KEYS = ("presence_bias", "proposal_weight")  # the costs that change only the emissions
# tracking.decode's lead, chosen after the grid given its best costs: not a cost but where the labels put a blurred
# ball, it moves positions only after the choice (the whole grid for each lead took 4.7 times as long, same choice)
LEADS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)


def decode_score(outputs: list[ClipOutput], clips: list[Clip], params: DecodeParams) -> float:
    """SiBaTrAcc of decoding precomputed refiner outputs with ``params``."""
    return tracks_sibatracc(clips, [decode_track(out.refined.xy, out.refined.prob, out.refined.code, params,
                                       out.candidates.score, clip.size) for out, clip in zip(outputs, clips)])


def tracks_sibatracc(clips: list[Clip], tracks: list[Track]) -> float:
    """SiBaTrAcc (the mean over clips, as evaluate.py) of ``tracks`` against the labels of ``clips``."""
    return _report(clips, tracks).sibatracc


def _report(clips: list[Clip], tracks: list[Track]) -> Report:
    report = Report(tracknet=DetectionCounts())
    for clip, track in zip(clips, tracks, strict=True):
        report.clips.append(score_clip(clip.name, clip.labels.codes, clip.labels.xy, track.codes, track.xy))
        report.tracknet += detection_counts(clip.labels.codes, clip.labels.xy, track.codes, track.xy,
                                            TRACKNET_TOLERANCE_PX)
    return report


def calibration_objective(clips: list[Clip], tracks: list[Track]) -> float:
    """What the calibration maximises: the mean of SiBaTrAcc (mean over clips) and F1 at TrackNet's 10 px (pooled
    frames). SiBaTrAcc charges a miss 5 and a ball 10-16 px off 1, so alone it calls a ball on any doubt; F1 counts
    that ball as a false positive, so the two together weigh presence as the project is judged."""
    report = _report(clips, tracks)
    return (report.sibatracc + report.tracknet.f1) / 2


def calibrate_decode(outputs: list[ClipOutput], clips: list[Clip], base: DecodeParams = DecodeParams()
                     ) -> tuple[DecodeParams, float, float]:
    """Grid-search the decoder on precomputed refiner outputs; returns (best params, its
    :func:`calibration_objective`, the base params' objective).

    Every combination of ``GRID`` is scored, cheaply: the presence costs change only the emissions, decoded together
    in one Viterbi pass per setting of the motion costs, and the gap length only the filling after it. Then the
    lead, one of ``LEADS``, given the best of the grid.
    """
    base_score = calibration_objective(clips, [decode_track(out.refined.xy, out.refined.prob, out.refined.code, base,
                                                            out.candidates.score, clip.size)
                                               for out, clip in zip(outputs, clips)])
    best, best_score = base, base_score
    motion_keys = [k for k in GRID if k not in (*EMISSION_KEYS, "max_gap")]
    for motion_values in itertools.product(*(GRID[k] for k in motion_keys)):
        motion = replace(base, **dict(zip(motion_keys, motion_values)))
        variants = [replace(motion, **dict(zip(EMISSION_KEYS, values)))
                    for values in itertools.product(*(GRID[k] for k in EMISSION_KEYS))]
        paths = [viterbi_batch(out.refined.xy, np.stack([emission_costs(out.refined.prob, out.candidates.score, p)
                                                          for p in variants]), motion) for out in outputs]
        for v, variant in enumerate(variants):
            choices = [chosen_track(out.refined.xy, out.refined.code, path[v]) for out, path in zip(outputs, paths)]
            for max_gap in GRID["max_gap"]:
                params = replace(variant, max_gap=max_gap)
                value = calibration_objective(clips, [fill_track(*choice, params, clip.size)
                                                      for choice, clip in zip(choices, clips)])
                if value > best_score + 1e-9:
                    best, best_score = params, value
    choices = [chosen_track(out.refined.xy, out.refined.code, viterbi(out.refined.xy, out.refined.prob, best,
                                                                       out.candidates.score)) for out in outputs]
    for lead in LEADS:
        params = replace(best, lead=lead)
        value = calibration_objective(clips, [fill_track(*choice, params, clip.size)
                                              for choice, clip in zip(choices, clips)])
        if value > best_score + 1e-9:
            best, best_score = params, value
    return best, best_score, base_score


def track_outputs(tracker: Tracker, clips: list[Clip]) -> list[ClipOutput]:
    """The tracker's outputs (candidates and refiner verdicts) on each clip, with a progress bar."""
    return [tracker.track_frames(clip.iter_frames()) for clip in tqdm(clips, desc="tracking", unit="clip")]


def calibration_clips(data: Path | None, games: list[int] | None, with_embedded_val: bool) -> list[Clip]:
    """The clips a calibration runs on: ``games`` of ``data`` (default: its validation split), plus the embedded
    synthetic validation games when ``with_embedded_val``."""
    if data is None:  # the embedded set's validation games, rendered on their own when missing
        games = games or list(EMBEDDED.val_games)
        return discover_clips(ensure_embedded(games=games), games)
    clips = discover_clips(data, games) if games else resolve_splits(data, None, games)[2]
    if with_embedded_val:
        clips += discover_clips(ensure_embedded(games=EMBEDDED.val_games), list(EMBEDDED.val_games))
    return clips


def leave_one_game_out(outputs: list[ClipOutput], clips: list[Clip], base: DecodeParams,
                       extra: tuple[list[ClipOutput], list[Clip]] = ([], [])) -> list[dict]:
    """For each game: calibrate on the other games (plus ``extra`` clips), score each held-out clip with ``base`` and
    with that calibration. One row per held-out clip: ``clip``, ``game``, ``sibatracc_base``,
    ``sibatracc_calibrated`` and the calibrated ``decode`` costs; their mean is the data set's figure."""
    rows = []
    for game in sorted({clip.game for clip in clips}):
        fit = [i for i, clip in enumerate(clips) if clip.game != game]
        params, _, _ = calibrate_decode([outputs[i] for i in fit] + extra[0], [clips[i] for i in fit] + extra[1], base)
        for i in (i for i, clip in enumerate(clips) if clip.game == game):
            rows.append({"clip": clips[i].name, "game": game,
                         "sibatracc_base": decode_score([outputs[i]], [clips[i]], base),
                         "sibatracc_calibrated": decode_score([outputs[i]], [clips[i]], params),
                         "decode": {k: getattr(params, k) for k in (*GRID, "lead")}})
    return rows


def write_bundle(path: Path, proposal_ckpt: Path, refine_ckpt: Path | None, decode: DecodeParams,
                 settings: dict, provenance: dict) -> str:
    """Bundle the stages for inference; returns the file's sha256 (also recorded in ``SHA256SUMS`` beside it)."""
    # The proposal from its training checkpoint, or kept from a tracker bundle (a new refiner trained on the shipped
    # proposal's candidates ships with that same proposal).
    bundle = {"stage": "tracker", "proposal": stage_part(proposal_ckpt, "proposal"),
              "refine": None, "decode": asdict(decode), "settings": settings, "provenance": provenance}
    if refine_ckpt is not None:
        bundle["refine"] = refine_part(load_checkpoint(refine_ckpt, "refine"))
    return _save_bundle(path, bundle)


def rewrite_bundle(bundle: dict, path: Path, decode: DecodeParams, provenance: dict) -> str:
    """A copy of the bundle read as ``bundle`` with other decoder parameters (a recalibration); returns its sha256."""
    return _save_bundle(path, {**bundle, "decode": asdict(decode), "provenance": provenance})


def _save_bundle(path: Path, bundle: dict) -> str:
    """Save with the content digest that reading checks, then record the file's sha256 in ``SHA256SUMS`` beside it."""
    # Checked as reading will check it, so a NaN calibration or diverged stage fails here, not at the next load.
    save_checkpoint(path, check_contents({**bundle, DIGEST: content_digest(bundle)}, path))
    return record_sha256(path)


def record_sha256(path: Path) -> str:
    """Record the sha256 of the file ``path`` in ``SHA256SUMS`` beside it (replacing its line); returns it."""
    digest = sha256_of(path)
    sums = Path(path).parent / "SHA256SUMS"
    lines = [ln for ln in (sums.read_text().splitlines() if sums.exists() else []) if not ln.endswith(Path(path).name)]
    write_text_atomic(sums, "\n".join(lines + [f"{digest}  {Path(path).name}"]) + "\n")
    return digest


def bundle_tracker(out: Path, proposal: Path | None = None, refine: Path | None = None,
                   recalibrate: Path | None = None, data: Path | None = None, val_games: list[int] | None = None,
                   with_embedded_val: bool = False, calibrate: bool = True) -> dict:
    """Write the tracker bundle ``out``: the ``proposal`` checkpoint (or a bundle's proposal) with the ``refine``
    checkpoint (None: a proposal-only tracker), or the stages of the bundle ``recalibrate``; the decoder calibrated
    on ``val_games`` of ``data`` (plus the embedded validation games with ``with_embedded_val``) unless
    ``calibrate`` is off. Returns ``{"sha256", "decode", "clips", "sibatracc_default", "sibatracc_calibrated"}``."""
    if recalibrate is not None:
        source = read_payload(recalibrate, "tracker")  # read once: its stages, then its copy
        tracker = Tracker.from_bundle(load_bundle(recalibrate, "cpu", source), device="cpu")
    else:
        tracker = Tracker(load_proposal(proposal), load_refine(refine) if refine else None)
    decode, calibration = DecodeParams(), {}
    if tracker.refine is not None and calibrate:
        clips = calibration_clips(data, val_games, with_embedded_val)
        outputs = track_outputs(tracker, clips)
        decode, _, _ = calibrate_decode(outputs, clips)
        base, best = decode_score(outputs, clips, DecodeParams()), decode_score(outputs, clips, decode)
        calibration = {"clips": [str(clip.path) for clip in clips], "sibatracc_default": base,
                       "sibatracc_calibrated": best}
        log.info("decoder calibrated on %d clips: SiBaTrAcc %.4f -> %.4f with %s", len(clips), base, best,
                 {k: getattr(decode, k) for k in (*GRID, "lead")})
    settings = {"top_k": tracker.top_k, "min_score": tracker.min_score}
    if recalibrate is not None:
        provenance = {**source.get("provenance", {}),
                      "recalibrated_from": str(recalibrate), "git": git_commit(), "calibration": calibration}
        digest = rewrite_bundle(source, out, decode, provenance)
    else:
        provenance = {"proposal": str(proposal), "refine": str(refine) if refine else None,
                      "git": git_commit(), "calibration": calibration}
        digest = write_bundle(out, proposal, refine, decode, settings, provenance)
    return {"sha256": digest, "decode": decode, **calibration}


if __name__ == "__main__":  # the command line is cli/bundle.py
    from cli.bundle import main

    main()
