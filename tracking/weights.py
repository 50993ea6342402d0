"""Load trained stages from checkpoints: models are rebuilt from the args stored with them, never from flags."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from data_prep.crops import CropSpec
from data_prep.stacks import StackSpec
from engine.checkpoint import load_checkpoint
from model.proposal import ProposalNet, build_proposal
from model.refine import RefineNet, build_refine

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


@dataclass
class ProposalStage:
    model: ProposalNet
    spec: StackSpec
    threshold: float  # presence threshold of the top-1 candidate chosen on validation
    path: Path


@dataclass
class RefineStage:
    model: RefineNet
    spec: CropSpec
    path: Path


def load_proposal(path: Path, device: torch.device | str = "cpu") -> ProposalStage:
    payload = load_checkpoint(path, "proposal")
    model = build_proposal(payload["model_args"])
    model.load_state_dict(payload["model"])
    config = payload["config"]
    spec = StackSpec(config["frames"], config["width"], config["height"])
    threshold = float(payload.get("metrics", {}).get("best_threshold", config["score_threshold"]))
    return ProposalStage(model.to(device).eval(), spec, threshold, Path(path))


def load_refine(path: Path, device: torch.device | str = "cpu") -> RefineStage:
    payload = load_checkpoint(path, "refine")
    model = build_refine(payload["model_args"])
    model.load_state_dict(payload["model"])
    args = payload["model_args"]
    return RefineStage(model.to(device).eval(), CropSpec(args["crop"], args["frames"] // 2), Path(path))
