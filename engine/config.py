"""One configuration dataclass per stage; every field is a command-line flag (:mod:`cli.config_args`), and the
resolved config travels with every checkpoint, the run folder (``config.json``) and the W&B run.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from data_prep.frame_cache import DEFAULT_CACHE


@dataclass
class CommonConfig:
    """Fields every stage shares: data, optimisation, run bookkeeping."""

    data: Path | None = None  # ROOT/gameG/clipC; None = the embedded synthetic data set
    games: list[int] | None = None  # training games; None = the embedded split (or all but --val-games on real data)
    val_games: list[int] | None = None  # validation games (of --val-data when given); None = the embedded split
    # Validate (choose the checkpoint and its presence threshold) on another data set, e.g. real labelled tennis,
    # while training on --data; --val-games then names games of this set (default: all of them).
    val_data: Path | None = None
    # More training data: every labelled clip of these roots joins the training split, e.g. pseudo-labelled real
    # clips (python -m tracking.pseudo_labels) beside the synthetic set. Never the games you score.
    extra_data: list[Path] | None = None
    cache: Path = DEFAULT_CACHE  # folder of the decoded-frame caches (safe to delete; rebuilt when needed)
    epochs: int = 10  # training epochs (with --max-minutes: at most this many)
    steps_per_epoch: int = 150  # optimiser steps per epoch; validation runs after each epoch
    batch_size: int = 24  # samples per step, the global batch when run under torchrun
    lr: float = 2e-3  # peak learning rate of AdamW (cosine schedule after the warm-up)
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_steps: int = 100  # linear learning-rate warm-up, in steps
    max_norm: float = 5.0  # gradient clipping: the largest gradient norm
    # Wall-clock budget of the training loop (0 = none): after the second epoch the learning-rate schedule is fitted
    # to the epochs that fit it at this machine's pace, and a run stops after the epoch that passes it.
    max_minutes: float = 0.0
    workers: int = 0  # DataLoader workers; 0 keeps both CPU cores for the model
    seed: int = 0  # seeds python, numpy and torch: a run is reproducible step for step
    device: str = "auto"  # auto = cuda when present, else cpu; or a torch device such as cpu, cuda:1
    amp: bool = True  # mixed precision on CUDA (bfloat16, else float16 + loss scaling); proposal: also CPUs with AMX
    compile: bool = False  # torch.compile on CUDA
    out: Path | None = None  # run folder; None = runs/<stage>_N
    resume: Path | None = None  # a run folder or last.pt to continue from
    # Start from trained weights instead of random ones: a checkpoint of this stage or a tracker bundle holding it
    # (e.g. weights/tracker.pt, to fine-tune the shipped tracker on your own footage). Its network must be the one
    # this config builds (same architecture flags); the optimiser, schedule and budget start afresh.
    init: Path | None = None
    wandb: Literal["offline", "online", "off"] = "offline"  # Weights & Biases logging (online needs a key)
    augment: float = 1.0  # augmentation strength, 0 disables
    ema: float = 0.0  # decay of an exponential moving average of the weights, validated and shipped; 0 = off


@dataclass
class ProposalConfig(CommonConfig):
    """Stage 1: heatmap proposals from a stack of low-resolution frames."""

    epochs: int = 40  # here the time budget decides how many fit (see docs/experiments.md)
    max_minutes: float = 28.0
    # The 28-min default is bound by its number of updates (twice the minutes scored higher on every held-out
    # figure), so the batch is half the common one at twice the steps: 1.7x the updates in the same time, the same
    # samples per epoch, the learning rate and warm-up scaled by the square root of the batch (docs/experiments.md).
    steps_per_epoch: int = 300
    batch_size: int = 12
    lr: float = 1.5e-3
    warmup_steps: int = 200
    # Cap of the weight average's decay: timm's 3/4-power warm-up reaches it after ~4,000 steps (0.998 at the
    # 3,900 steps of the default run here), so early epochs average over few steps and late ones over ~500.
    ema: float = 0.998
    frames: int = 3  # frames per input stack; the net predicts a heatmap for each
    # Input size (multiples of 16). Training cost is set by the crop below, not by this; a larger input makes a
    # far ball more pixels (640 wide: 2 full-res px per input px, a heatmap cell of 8 px, the metric's tolerance).
    width: int = 640
    height: int = 352
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])  # channels of the encoder's four levels
    diffs: bool = True  # also feed the differences of consecutive frames
    # Training crops (the net is fully convolutional): their pixels set the cost of a step. 256x160 steps are ~25%
    # cheaper than 320x192, so a time budget holds more of them, and scored higher at equal minutes (README).
    crop_width: int = 256
    crop_height: int = 160
    ball_crop_prob: float = 0.8  # share of training crops placed to contain the ball
    reverse_prob: float = 0.5  # share of training stacks played backwards (ball flight is time-symmetric)
    occluded_weight: float = 0.5  # loss weight of occluded (code 3) balls, often invisible in the image
    heat_sigma: float = 1.0  # of the Gaussian target, in heatmap cells; 0.7 found fewer balls
    offset_weight: float = 1.0  # weight of the sub-cell (proposal) or sub-pixel (refine) position loss
    offset_reach: int = 1  # the offset is trained at cells up to this far from the ball's, each pointing at it
    # Candidates are at least this many heatmap cells apart after their sub-cell offsets (0 = 3x3 max-pool on the
    # cells): 1 found at least as many balls among 5 candidates on every held-out set (README: design choices).
    peak_radius: float = 1.0
    top_k: int = 5  # candidates per frame scored in validation (recall@K)
    score_threshold: float = 0.5  # top-1 presence threshold in validation
    # Validate with the temporal ensemble (each frame averaged over the 3 stacks that hold it), so that the
    # checkpoint and its presence threshold are chosen for the way the proposal is scored; --no-ensemble validates
    # one pass per stack (a third of the validation time; the speed bench's mode).
    ensemble: bool = True


@dataclass
class RefineConfig(CommonConfig):
    """Stage 2: temporal transformer on crop stacks around proposal candidates."""

    proposal: Path | None = None  # proposal used to mine hard negatives; None = newest runs/proposal_N, else shipped
    crop: int = 32  # P: crop side in full-resolution pixels
    context: int = 2  # k: frames t-k .. t+k
    patch: int = 8  # side of the transformer's square patches, in pixels
    dim: int = 128  # token width of the transformer
    depth: int = 4  # transformer blocks
    heads: int = 4  # attention heads per block
    jitter: float = 12.0  # positives: crop centre drawn within this many px of the ball (at most MATCH_PX)
    # Share of the positives that are composites: a rendered ball pasted into a window away from the frame's own
    # ball (a candidate on a distractor or a random window), labelled where it was drawn (data_prep/composites.py)
    composite_share: float = 0.25
    top_k: int = 5  # proposal candidates per frame the refiner is trained and validated on
    epochs: int = 12
    max_minutes: float = 28.0
    lr: float = 1e-3
    batch_size: int = 64
    code_weight: float = 0.2  # weight of the visibility-code loss
    offset_weight: float = 1.0  # weight of the sub-cell (proposal) or sub-pixel (refine) position loss


@dataclass
class BaselineConfig(CommonConfig):
    """The assignment's reference UNet (``model/baseline_unet.py``), trained for side-by-side comparison.

    Same sampler, augmentation and crops as the proposal stage. The budget is a step count, not a clock, so that a
    busy machine cannot shorten it: 3 x 180 steps of 8 stacks at 2.9 s each (measured on the idle 2-core CPU) plus
    three validations take about 29 minutes, the time our two stages take together by default.
    """

    frames: int = 5  # frames per input stack (the assignment's 5)
    width: int = 640  # input width of the UNet
    height: int = 360  # input height of the UNet
    crop_width: int = 320  # training crop width
    crop_height: int = 192  # training crop height
    ball_crop_prob: float = 0.8  # share of training crops placed to contain the ball
    reverse_prob: float = 0.0  # the baseline predicts the last frame of the stack: time direction matters
    occluded_weight: float = 1.0  # loss weight of occluded (code 3) balls
    ball_radius: float = 2.5  # sigma of the Gaussian target mask, in 640x360 pixels
    threshold: float = 0.5  # mask probability that says "ball"
    max_gap: int = 4  # postprocess: interpolate gaps of at most this many frames between detections
    val_frames: int = 0  # validation scores the first this-many frames of each clip (0 = all): one forward each
    epochs: int = 3
    steps_per_epoch: int = 180
    max_minutes: float = 0.0
    batch_size: int = 8
    lr: float = 1e-3



@dataclass
class EventsConfig(CommonConfig):
    """Hits and bounces on ball tracks (``model/events.py``), trained on labelled tracks split by match.

    ``--data``: a folder of ``gameG_clipC.csv`` event tracks (``frame,visibility,x-coordinate,y-coordinate,status``;
    G is the match) or a clip root whose ``labels.csv`` carry ``q``; default the shared ``tennis_events`` folder
    when present. ``--games`` / ``--val-games`` are matches (default: the last one validates).
    """

    window: int = 96  # training windows, in frames at 30 fps
    sigma: float = 1.0  # frames at 30 fps each event's target spreads over (Gaussian)
    event_weight: float = 5.0  # loss weight of a frame's event share beside the flight frames, which far outnumber it
    width: int = 64  # channels of the temporal conv net
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])  # one residual block each
    dropout: float = 0.1
    epochs: int = 12
    steps_per_epoch: int = 100
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 50
    wandb: Literal["offline", "online", "off"] = "off"  # Weights & Biases logging (online needs a key)

def config_to_dict(cfg) -> dict:
    """Plain JSON/pickle-safe values (paths as strings) for checkpoints, config.json and W&B."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def config_from_dict(cls: type, data: dict):
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, kind = data[f.name], hints[f.name]
        if value is not None and Path in (typing.get_args(kind) or (kind,)):
            value = Path(value)
        values[f.name] = value
    return cls(**values)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
