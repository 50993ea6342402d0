"""Wiring of the assignment's baseline UNet for ``train.py --stage baseline``.

It trains on the same sampler, augmentation and crops as our proposal stage (only the stack length, input size
and target differ), so a comparison under the same time budget isolates the models. Validation runs the complete
baseline tracker (mask -> row/column sums -> gap interpolation) on the validation clips and scores SiBaTrAcc.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from data_prep.augment import stack_transform
from data_prep.clips import scale_points
from data_prep.frame_cache import FrameCache
from data_prep.splits import resolve_splits
from data_prep.stacks import HEATMAP_STRIDE, ProposalStacks, StackSpec
from engine.config import BaselineConfig
from engine.loop import StageParts
from evaluation.metrics import Report, score_clip
from evaluation.predictions import Track
from evaluation.report import score_tables
from evaluation.visualize import OverlayClip
from model.baseline_unet import BaselineUNet, gaussian_masks, iou_loss
from tracking.baseline import BaselineTracker


def build(cfg: BaselineConfig) -> StageParts:
    root, train_clips, val_clips = resolve_splits(cfg.data, cfg.games, cfg.val_games)
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
        tracker = BaselineTracker(net, spec.size, cfg.threshold, cfg.max_gap, device=device)
        report, tracks = Report(), []
        for clip in val_clips:
            # Cached low-resolution frames: positions come back in input pixels, scaled here to the clip's.
            n = cfg.val_frames or len(clip)
            track = tracker.track_frames(iter(cache.frames(clip, spec.size)[:n])).track
            factor = (clip.size[0] / spec.width, clip.size[1] / spec.height)
            xy = np.where(track.codes[:, None] > 0, scale_points(track.xy, factor), -1.0)
            report.clips.append(score_clip(clip.name, clip.labels.codes[:n], clip.labels.xy[:n], track.codes, xy))
            tracks.append(Track(track.codes, xy))
        summary = report.summary()
        return {**{k: summary[k] for k in ("sibatracc", "precision", "recall", "f1", "mean_error_px")},
                "score": summary["sibatracc"], "tables": score_tables(val_clips, tracks, report.clips),
                "videos": [OverlayClip(val_clips[0], tracks[0])] if not cfg.val_frames else []}

    return StageParts(model, losses, train_set, validate, str(root), {})


def model_args(model: BaselineUNet) -> dict:
    return {**asdict(model.args), "widths": list(model.args.widths)}
