"""Wiring of the event detector for ``train.py --stage events``, and shipping its weights.

    python train.py --stage events                     # the shared tennis_events tracks, the last match validates
    python train.py --stage events --data ROOT --games 1 2 --val-games 3   # clip folders whose labels.csv carry q
    python -m engine.events_stage ship runs/events_1/best.pt        # -> weights/events.pt (+ weights/SHA256SUMS)

Training windows are labelled tracks augmented to look like a tracker's output (``data_prep.events.augment``);
validation scores whole tracks of the validation matches as they are and once augmented (fixed seed), picks the
peak threshold with the best event F1 (stored as ``best_threshold``) and reports that F1 as the score.

The network is small enough that a second CPU thread only adds overhead: on a busy 2-core CPU a step took 1.6 s
with 2 threads and 0.08 s with 1, so run it as ``OMP_NUM_THREADS=1 python train.py --stage events`` there.
"""
from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from data_prep.clips import DataError, discover_clips
from data_prep.event_windows import EventWindows
from data_prep.events import EventTrack, augment, clip_event_track, has_events, read_event_folder
from data_prep.paths import PROJECT_ROOT
from engine.bundle import record_sha256
from engine.checkpoint import save_checkpoint
from engine.config import EventsConfig
from engine.loop import StageParts
from evaluation.events import event_scores
from model.checkpoint import DIGEST, content_digest, load_checkpoint
from model.events import EventNet, EventNetArgs
from tracking.events import DEFAULT_EVENTS, EventDetector, pick_events

SHARED_EVENTS = PROJECT_ROOT.parent / "shared" / "data" / "tennis_events"
THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.05), 2)


def load_tracks(data: Path | None) -> list[EventTrack]:
    """Every labelled event track of ``data`` (default: the shared tennis_events folder)."""
    data = Path(data) if data is not None else SHARED_EVENTS
    if not data.is_dir():
        raise DataError(data, "no event tracks: pass --data (a folder of gameG_clipC.csv tracks or of labelled clips)")
    if any(data.glob("game*_clip*.csv")):
        return read_event_folder(data)
    tracks = [clip_event_track(clip) for clip in discover_clips(data, skip_broken=True)]
    tracks = [t for t in tracks if has_events(t)]
    if not tracks:
        raise DataError(data, "no clip here carries events (labels.csv column q: 0 flying, 1 hit, 2 bounce)")
    return tracks


def split(tracks: list[EventTrack], games: list[int] | None, val_games: list[int] | None
          ) -> tuple[list[EventTrack], list[EventTrack]]:
    """(training, validation) tracks by match: validation defaults to the last match, training to all others."""
    matches = sorted({t.match for t in tracks})
    val_games = val_games or matches[-1:]
    games = games or [m for m in matches if m not in val_games]
    if set(games) & set(val_games):
        raise DataError("--games", f"matches {sorted(set(games) & set(val_games))} both train and validate")
    train = [t for t in tracks if t.match in games]
    if not train:
        raise DataError("--games", f"no training tracks among matches {games} (found {matches})")
    return train, [t for t in tracks if t.match in val_games]


def build(cfg: EventsConfig) -> StageParts:
    tracks = load_tracks(cfg.data)
    train, val = split(tracks, cfg.games, cfg.val_games)
    model = EventNet(args=EventNetArgs(width=cfg.width, dilations=list(cfg.dilations), dropout=cfg.dropout))
    train_set = EventWindows(train, cfg.window, cfg.augment, cfg.seed, cfg.sigma)

    def losses(net: nn.Module, batch: dict) -> dict:
        logits = net(batch["features"])  # (B, 3, T)
        target, mask = batch["target"], batch["mask"]
        weight = mask * (1 + (cfg.event_weight - 1) * target[:, 1:].sum(1))
        loss = -(target * logits.log_softmax(1)).sum(1)
        return {"loss": (loss * weight).sum() / weight.sum().clamp_min(1.0)}

    def validate(net: nn.Module, device: torch.device) -> dict:
        return validate_events(net, val, device, cfg.seed)

    provenance = {"train_tracks": len(train), "val_tracks": len(val),
                  "train_matches": sorted({t.match for t in train}), "val_matches": sorted({t.match for t in val})}
    return StageParts(model, losses, train_set, validate, str(cfg.data or SHARED_EVENTS), provenance)


def validation_tracks(tracks: list[EventTrack], seed: int) -> list[EventTrack]:
    """The validation tracks as they are, then each once more augmented (fixed seed): a tracker's output too."""
    rng = np.random.default_rng(seed + 12345)
    return tracks + [augment(t, rng) for t in tracks]


def validate_events(net: nn.Module, tracks: list[EventTrack], device: torch.device, seed: int = 0) -> dict:
    """Event F1 at the best peak threshold over ``tracks`` (clean and augmented); ``best_threshold`` is kept."""
    if not tracks:
        return {"score": 0.0, "best_threshold": 0.5}
    net.eval()
    detector = EventDetector(net, device=device)
    tracks = validation_tracks(tracks, seed)
    probs = [detector.probabilities(t) for t in tracks]
    net.train()
    results = {}
    for threshold in THRESHOLDS:
        results[float(threshold)] = event_scores([(t.events, pick_events(p, float(threshold), t.fps))
                                                  for t, p in zip(tracks, probs)])
    best = max(results, key=lambda k: (results[k]["f1"], -abs(k - 0.5)))
    figures = results[best]
    return {"score": figures["f1"], "best_threshold": best,
            **{k: float(v) for k, v in figures.items() if k.endswith(("f1", "precision", "recall"))}}


def model_args(model: EventNet) -> dict:
    return {**asdict(model.args), "dilations": list(model.args.dilations)}


def ship(checkpoint: Path, out: Path = DEFAULT_EVENTS) -> str:
    """Write the inference part of an events checkpoint to ``out`` (with its content digest) and record its sha256
    in ``SHA256SUMS`` beside it; returns the sha256."""
    payload = load_checkpoint(checkpoint, "events")
    slim = {"stage": "events", "model_args": payload["model_args"], "model": payload["model"],
            "config": payload["config"], "metrics": {"best_threshold": payload["metrics"]["best_threshold"]}}
    save_checkpoint(out, {**slim, DIGEST: content_digest(slim)})
    return record_sha256(out)


if __name__ == "__main__":  # the command line is cli/events_stage.py
    from cli.events_stage import main

    sys.exit(main())
