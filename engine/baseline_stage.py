"""Wiring of the assignment's baseline UNet for ``train.py --stage baseline``.

It trains on the same sampler, augmentation and crops as our proposal stage (only the stack length, input size
and target differ), so a comparison under the same time budget isolates the models. Validation runs the complete
baseline tracker (mask -> row/column sums -> gap interpolation) on the validation clips and scores SiBaTrAcc.
"""
from __future__ import annotations

from dataclasses import asdict

import torch
from torch import nn

from data_prep.augment import stack_transform
from data_prep.clips import Clip
from data_prep.frame_cache import FrameCache
from data_prep.splits import resolve_splits
from data_prep.stacks import HEATMAP_STRIDE, ProposalStacks, StackSpec
from engine.config import BaselineConfig
from engine.loop import StageParts
from engine.proposal_stage import THRESHOLDS
from evaluation.metrics import Report, score_clip
from evaluation.report import score_tables
from evaluation.visualize import OverlayClip
from model.baseline_unet import BaselineUNet, gaussian_masks, iou_loss
from tracking.baseline import BaselineTracker


def build(cfg: BaselineConfig) -> StageParts:
    root, train_clips, val_clips = resolve_splits(cfg.data, cfg.games, cfg.val_games, cfg.val_data, stack=cfg.frames,
                                                  extra=cfg.extra_data)
    spec = StackSpec(cfg.frames, cfg.width, cfg.height)
    cache = FrameCache(cfg.cache)
    train_set = ProposalStacks(train_clips, spec, cache, stack_transform("train", cfg.augment),
                               crop=(cfg.crop_width, cfg.crop_height), ball_crop_prob=cfg.ball_crop_prob,
                               occluded_weight=cfg.occluded_weight, reverse_prob=cfg.reverse_prob, seed=cfg.seed)
    model = BaselineUNet(frames=cfg.frames)

    def losses(net: nn.Module, batch: dict) -> dict:
        logits = net(batch["frames"])
        # The stack's targets are heatmap cells + sub-cell offsets; the ball of the last frame in input pixels:
        xy = (batch["cell"][:, -1].float() + batch["offset"][:, -1]) * HEATMAP_STRIDE - 0.5
        target = gaussian_masks(xy, batch["has_ball"][:, -1], logits.shape[-2:], cfg.ball_radius)
        return {"loss": iou_loss(logits, target)}

    def validate(net: nn.Module, device: torch.device) -> dict:
        return validate_baseline(net, val_clips, spec, cache, cfg.max_gap, cfg.val_frames, device, media=True)

    return StageParts(model, losses, train_set, validate, str(root), {})


def validate_baseline(model: BaselineUNet, clips: list[Clip], spec: StackSpec, cache: FrameCache, max_gap: int,
                      val_frames: int, device: torch.device, media: bool = False) -> dict:
    """SiBaTrAcc / P / R / F1 of the complete baseline tracker on the first ``val_frames`` (0 = all) of each clip.

    The presence threshold is searched as for our proposal stage (``best_threshold`` is stored with the
    checkpoint and used by :class:`BaselineTracker`); ``score`` is the SiBaTrAcc at that threshold.
    """
    tracker = BaselineTracker(model, spec.size, max_gap=max_gap, device=device)
    masks = [tracker.masks(cache.frames(clip, spec.size)[:val_frames or len(clip)]) for clip in clips]
    reports = {}
    for threshold in THRESHOLDS:
        tracks = [tracker.decode(m, clip.size, float(threshold)) for m, clip in zip(masks, clips)]
        report = Report([score_clip(clip.name, clip.labels.codes[:len(t)], clip.labels.xy[:len(t)], t.codes, t.xy)
                         for clip, t in zip(clips, tracks)])
        reports[float(threshold)] = (report, tracks)
    best = max(reports, key=lambda t: reports[t][0].sibatracc)
    report, tracks = reports[best]
    summary = report.summary()
    metrics = {**{k: summary[k] for k in ("sibatracc", "precision", "recall", "f1", "mean_error_px")},
               "best_threshold": best, "score": summary["sibatracc"]}
    if media:
        metrics["tables"] = score_tables(clips, tracks, report.clips)
        metrics["videos"] = [OverlayClip(clips[0], tracks[0])] if not val_frames else []
    return metrics


def model_args(model: BaselineUNet) -> dict:
    return {**asdict(model.args), "widths": list(model.args.widths)}
