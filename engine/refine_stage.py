"""Wiring of stage 2 for ``train.py``: mine candidates with the trained proposal net, train the refiner on crop
stacks around them, and validate against the proposal stage alone.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from data_prep.atomic import atomic_path
from data_prep.augment import stack_transform
from data_prep.clips import Clip
from data_prep.crops import MATCH_PX, CropSpec, mined_path
from data_prep.embedded import EMBEDDED
from data_prep.frame_cache import FrameCache, clip_fingerprint
from data_prep.paths import RUNS_DIR
from data_prep.refine_samples import RefineSamples
from data_prep.splits import resolve_splits
from engine.config import RefineConfig
from engine.loop import StageParts
from evaluation.metrics import DEFAULT_TOLERANCE_PX, Report, roc_auc, score_clip
from evaluation.report import score_tables
from evaluation.visualize import OverlayClip, crop_sheet
from model.refine import RefineLoss, RefineNet
from tracking.candidates import Candidates, propose_clip, refine_clip
from tracking.stages import best_refined, top1_track
from tracking.weights import DEFAULT_BUNDLE, ProposalStage, load_proposal

log = logging.getLogger(__name__)


def find_proposal(explicit: Path | None) -> Path:
    """The proposal to mine with: ``--proposal``, else the newest ``runs/proposal_N/best.pt``, else the shipped
    bundle's proposal."""
    if explicit is not None:
        return Path(explicit)
    runs = sorted(RUNS_DIR.glob("proposal_*/best.pt"), key=lambda p: p.stat().st_mtime)
    if runs:
        log.info("mining with the newest proposal run %s", runs[-1])
        return runs[-1]
    if DEFAULT_BUNDLE.is_file():
        return DEFAULT_BUNDLE
    raise FileNotFoundError("the refine stage needs a trained proposal: run `python train.py --stage proposal` "
                            "first or pass --proposal runs/proposal_N/best.pt")


def build(cfg: RefineConfig) -> StageParts:
    proposal = load_proposal(find_proposal(cfg.proposal))
    games = cfg.games or (list(EMBEDDED.refine_train_games) if cfg.data is None else None)
    root, train_clips, val_clips = resolve_splits(cfg.data, games, cfg.val_games, cfg.val_data, extra=cfg.extra_data)
    cache = FrameCache(cfg.cache)
    spec = CropSpec(cfg.crop, cfg.context)
    mined = mine_candidates(proposal, train_clips, cache, cfg.top_k, Path(cfg.cache).parent / "mined")
    train_set = RefineSamples(train_clips, mined, spec, Path(cfg.cache).parent / "crops",
                              stack_transform("train", cfg.augment),
                              jitter=cfg.jitter, composite_share=cfg.composite_share, seed=cfg.seed)
    model = RefineNet(frames=spec.frames, crop=cfg.crop, patch=cfg.patch, dim=cfg.dim, depth=cfg.depth,
                      heads=cfg.heads)
    criterion = RefineLoss(cfg.offset_weight, cfg.code_weight)
    val_candidates = [propose(proposal, clip, cache, cfg.top_k) for clip in val_clips]

    def losses(net: nn.Module, batch: dict) -> dict:
        return criterion(net(batch["crops"]), batch)

    def validate(net: nn.Module, device: torch.device) -> dict:
        return validate_refine(net, proposal, val_clips, val_candidates, spec, cache, device, media=True)

    return StageParts(model, losses, train_set, validate, str(root), {"proposal_used": str(proposal.path)})


def propose(proposal: ProposalStage, clip: Clip, cache: FrameCache, k: int) -> Candidates:
    return propose_clip(proposal.model, cache.frames(clip, proposal.spec.size), clip.size, k=k)


def mine_candidates(proposal: ProposalStage, clips: list[Clip], cache: FrameCache, k: int, folder: Path
                    ) -> list[np.ndarray]:
    """Top-``k`` proposal positions of every training frame, cached per clip (resumable: done clips are kept).

    The cache folder is keyed by the proposal checkpoint's content, so retraining stage 1 re-mines.
    """
    digest = hashlib.sha256(proposal.path.read_bytes()).hexdigest()[:12]
    folder = Path(folder) / f"{digest}-k{k}"
    folder.mkdir(parents=True, exist_ok=True)
    mined = []
    for clip in tqdm(clips, desc="mining candidates", leave=False):
        path = mined_path(folder, clip, clip_fingerprint(clip, None))
        if path.is_file():
            xy = np.load(path)
            if xy.shape == (len(clip), k, 2):
                mined.append(xy)
                continue
        xy = propose(proposal, clip, cache, k).xy
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, xy)
        mined.append(xy)
    return mined


def validate_refine(model: RefineNet, proposal: ProposalStage, clips: list[Clip], candidates: list[Candidates],
                    spec: CropSpec, cache: FrameCache, device: torch.device, media: bool = False) -> dict:
    """Proposal top-1 vs proposal + refine (best candidate per frame) on the validation clips.

    mean error: over candidates within 2 x tolerance of a present ball, the proposal's and the refiner's distance
    to it. auc: ball / no-ball ROC-AUC over all candidates (a candidate is a ball within ``MATCH_PX``, the rule
    the training labels use).

    With ``media``, also ``images`` (crop stacks of the first clip's best candidates with true and predicted
    positions), ``tables`` (per-clip and per-frame scores of the best refined candidates) and ``videos`` (that
    track over the first clip, rendered lazily); see :mod:`engine.logger` for the formats.
    """
    model.eval()
    proposal_report, refine_report = Report(), Report()
    prop_err, ref_err, labels, probs, tracks, images = [], [], [], [], [], []
    for clip, cands in zip(clips, candidates):
        frames = cache.frames(clip, None)
        refined = refine_clip(model, frames, cands, spec, device=device)
        codes, xy = clip.labels.codes, clip.labels.xy
        top1, best = top1_track(cands, proposal.threshold), best_refined(refined)
        tracks.append(best)
        proposal_report.clips.append(score_clip(clip.name, codes, xy, top1.codes, top1.xy))
        refine_report.clips.append(score_clip(clip.name, codes, xy, best.codes, best.xy))
        present = (codes > 0)[:, None]
        d_prop = np.linalg.norm(cands.xy - xy[:, None], axis=-1)
        d_ref = np.linalg.norm(refined.xy - xy[:, None], axis=-1)
        matched = present & (d_prop <= 2 * DEFAULT_TOLERANCE_PX)
        prop_err.append(d_prop[matched])
        ref_err.append(d_ref[matched])
        labels.append((present & (d_prop <= MATCH_PX)).ravel())
        probs.append(refined.prob.ravel())
        if media and not images:
            images.append((f"crops_{clip.name}", crop_sheet(frames, xy, cands.xy, refined.prob, refined.xy,
                                                            spec.crop, spec.context)))
    prop_err, ref_err = np.concatenate(prop_err), np.concatenate(ref_err)
    summary = refine_report.summary()
    metrics = {"sibatracc": summary["sibatracc"], "proposal_sibatracc": proposal_report.sibatracc,
               "precision": summary["precision"], "recall": summary["recall"], "f1": summary["f1"],
               "auc": roc_auc(np.concatenate(labels), np.concatenate(probs)),
               "proposal_mean_error_px": float(prop_err.mean()) if prop_err.size else float("nan"),
               "refined_mean_error_px": float(ref_err.mean()) if ref_err.size else float("nan"),
               "score": summary["sibatracc"]}
    if media and clips:
        metrics["images"] = images
        metrics["tables"] = score_tables(clips, tracks, refine_report.clips)
        metrics["videos"] = [OverlayClip(clips[0], tracks[0])]
    return metrics


def model_args(model: RefineNet) -> dict:
    return asdict(model.args)
