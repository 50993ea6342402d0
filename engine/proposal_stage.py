"""Wiring of stage 1 for ``train.py``: data, model, loss and validation of the proposal network."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from data_prep.augment import stack_transform
from data_prep.clips import Clip
from data_prep.frame_cache import FrameCache
from data_prep.splits import resolve_splits
from data_prep.stacks import ProposalStacks, StackSpec
from engine.config import ProposalConfig
from engine.loop import StageParts
from evaluation.metrics import DEFAULT_TOLERANCE_PX, Report, score_clip
from evaluation.report import score_tables
from evaluation.visualize import OverlayClip, draw_probability
from model.proposal import ProposalLoss, ProposalNet
from tracking.candidates import propose_clip
from tracking.stages import top1_track

THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def build(cfg: ProposalConfig) -> StageParts:
    root, train_clips, val_clips = resolve_splits(cfg.data, cfg.games, cfg.val_games, cfg.val_data, stack=cfg.frames,
                                                  extra=cfg.extra_data)
    spec = StackSpec(cfg.frames, cfg.width, cfg.height)
    cache = FrameCache(cfg.cache)
    train_set = ProposalStacks(train_clips, spec, cache, stack_transform("train", cfg.augment),
                               crop=(cfg.crop_width, cfg.crop_height), ball_crop_prob=cfg.ball_crop_prob,
                               occluded_weight=cfg.occluded_weight, reverse_prob=cfg.reverse_prob,
                               heat_sigma=cfg.heat_sigma, seed=cfg.seed)
    model = build_model(cfg).to(memory_format=torch.channels_last)  # training steps ~15% faster on CPU
    criterion = ProposalLoss(cfg.offset_weight, cfg.offset_reach)

    def losses(net: nn.Module, batch: dict) -> dict:
        logits, offset = net(batch["frames"])
        return criterion(logits, offset, batch)

    def validate(net: nn.Module, device: torch.device) -> dict:
        return validate_proposal(net, val_clips, spec, cache, cfg.top_k, cfg.score_threshold, device, media=True,
                                 ensemble=cfg.ensemble)

    return StageParts(model, losses, train_set, validate, str(root), {}, cpu_bfloat16=True)


def build_model(cfg: ProposalConfig) -> ProposalNet:
    """The freshly initialised network a proposal config describes."""
    return ProposalNet(frames=cfg.frames, widths=tuple(cfg.widths), diffs=cfg.diffs, offset_reach=cfg.offset_reach,
                       peak_radius=cfg.peak_radius)


def validate_proposal(model: ProposalNet, clips: list[Clip], spec: StackSpec, cache: FrameCache, k: int,
                      threshold: float, device: torch.device, media: bool = False, ensemble: bool = False) -> dict:
    """recall@1/@K (a candidate within 8 full-res px of a visible ball: codes 1-2; ``_all`` adds occluded code 3)
    and top-1 SiBaTrAcc / P / R / F1.

    Also searches the presence threshold that maximises top-1 SiBaTrAcc on these clips; ``score`` (the model
    selection figure) is that best SiBaTrAcc, and ``threshold`` is stored with the checkpoint.

    ``images``: heatmap overlays of the first clips. With ``media``, also ``tables`` (per-clip and per-frame
    scores of the top-1 track at the best threshold) and ``videos`` (that track over the first clip, rendered
    lazily); see :mod:`engine.logger` for the formats. ``ensemble``: the temporal ensemble of
    :func:`tracking.candidates.propose_stacks`.
    """
    model.eval()
    hits, hits_all, visible_total, present_total = np.zeros(k), np.zeros(k), 0, 0
    by_threshold = {float(t): Report() for t in THRESHOLDS}
    fixed = Report()
    images, proposals = [], []
    for clip in tqdm(clips, desc="validating", unit="clip", leave=False, disable=None, dynamic_ncols=True):
        frames = cache.frames(clip, spec.size)
        candidates, maps = propose_clip(model, frames, clip.size, k=k, device=device, keep_maps=True,
                                       ensemble=ensemble)
        proposals.append(candidates)
        codes, xy = clip.labels.codes, clip.labels.xy
        present = codes > 0
        distance = np.linalg.norm(candidates.xy - xy[:, None], axis=-1)  # (n, k)
        within = np.cumsum(distance <= DEFAULT_TOLERANCE_PX, axis=1) > 0  # (n, k): hit among the first j+1
        visible = (codes == 1) | (codes == 2)
        hits += within[visible].sum(axis=0)
        hits_all += within[present].sum(axis=0)
        visible_total += int(visible.sum())
        present_total += int(present.sum())
        for t, report in by_threshold.items():
            track = top1_track(candidates, t)
            report.clips.append(score_clip(clip.name, codes, xy, track.codes, track.xy))
        track = top1_track(candidates, threshold)
        fixed.clips.append(score_clip(clip.name, codes, xy, track.codes, track.xy))
        if len(images) < 3:
            i = int(np.flatnonzero(present)[len(np.flatnonzero(present)) // 2]) if present.any() else 0
            images.append((f"heatmap_{clip.name}",
                           next(draw_probability([np.asarray(frames[i])], [maps[i].astype(np.float32)]))))
    best_t = max(by_threshold, key=lambda t: by_threshold[t].sibatracc)
    best = by_threshold[best_t]
    summary = fixed.summary()
    recall, recall_all = hits / max(visible_total, 1), hits_all / max(present_total, 1)
    metrics = {"recall@1": recall[0], f"recall@{k}": recall[-1], f"recall@{k}_all": recall_all[-1],
               "sibatracc": summary["sibatracc"],
               "precision": summary["precision"], "recall": summary["recall"], "f1": summary["f1"],
               "mean_error_px": summary["mean_error_px"], "best_threshold": best_t,
               "sibatracc_best_threshold": best.sibatracc, "score": best.sibatracc, "images": images}
    if media and clips:
        tracks = [top1_track(candidates, best_t) for candidates in proposals]
        metrics["tables"] = score_tables(clips, tracks, best.clips)
        metrics["videos"] = [OverlayClip(clips[0], tracks[0])]
    return metrics


def model_args(model: ProposalNet) -> dict:
    return {**asdict(model.args), "widths": list(model.args.widths)}
