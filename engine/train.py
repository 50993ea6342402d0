"""Train one stage of the tracker: the loop behind ``train.py`` (flags parsed by :mod:`cli.train`) and the demo.

    python train.py --stage proposal                       # embedded synthetic data, default config
    python train.py --stage refine                         # needs a proposal checkpoint (weights/ or --proposal)
    python train.py --stage proposal --data ROOT --games 1 2 3 --val-games 4 --epochs 20
    python train.py --stage proposal --resume runs/proposal_3
    torchrun --standalone --nproc_per_node=2 train.py --stage proposal   # N processes, same global batch

Reads top to bottom: config -> seed -> data -> model -> optimiser -> resume -> loop (train, validate, checkpoint).
Each epoch writes, when validation improves, ``best.pt`` and then ``last.pt`` into the run folder, with the config,
the model's constructor args and every RNG state, so ``--resume`` continues where a killed run stopped, wherever it
was killed: the resumed run's checkpoints and ``log.jsonl`` are those of an uninterrupted run. The run folder is
locked while a process trains in it (:func:`engine.runs.run_folder_lock`), so a second run there is refused. A
loss or gradient that becomes NaN or infinite stops the run with an error naming the step (:class:`NonFiniteLoss`),
before that step changes the weights; ``last.pt`` keeps the last good epoch.
Under ``torchrun`` each process trains on its share of every batch with DistributedDataParallel and the result
matches one process with the same ``--batch-size`` (``engine/distributed.py`` says how); rank 0 alone validates and
writes the run folder and logs.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import shutil
import time
from pathlib import Path

import torch
from timm.utils import ModelEmaV3
from torch.utils.data import DataLoader, RandomSampler

from data_prep.atomic import naming, write_text_atomic
from engine import baseline_stage, distributed, events_stage, proposal_stage, refine_stage
from engine.checkpoint import rng_state, save_checkpoint, seed_everything, set_rng_state
from engine.config import (
    BaselineConfig,
    EventsConfig,
    ProposalConfig,
    RefineConfig,
    config_from_dict,
    config_to_dict,
    git_commit,
)
from engine.logger import RunLogger
from engine.loop import (
    PLANNING_EPOCHS,
    NonFiniteLoss,
    autocast_dtype,
    budget_pace,
    epochs_within_budget,
    train_one_epoch,
    warmup_cosine,
)
from engine.runs import Interrupted, next_run_dir, run_folder_lock
from model.checkpoint import CheckpointError, load_checkpoint
from tracking.weights import stage_part

# stage name -> (config dataclass, module providing build(cfg) and model_args(model))
STAGES = {"proposal": (ProposalConfig, proposal_stage), "refine": (RefineConfig, refine_stage),
          "baseline": (BaselineConfig, baseline_stage), "events": (EventsConfig, events_stage)}
log = logging.getLogger("train")
# The values a run can train with: (fields, test, the rule in words). A stage without a field skips it.
LIMITS = [
    (("epochs", "steps_per_epoch", "batch_size", "lr", "max_norm", "frames", "width", "height", "crop_width",
      "crop_height", "crop", "patch", "dim", "depth", "heads", "top_k"), lambda v: v > 0, "above 0"),
    (("weight_decay", "warmup_steps", "max_minutes", "workers", "augment", "context"), lambda v: v >= 0, "0 or more"),
    (("ball_crop_prob", "reverse_prob", "score_threshold", "threshold", "composite_share"),
     lambda v: 0 <= v <= 1, "between 0 and 1"),
    (("ema",), lambda v: 0 <= v < 1, "0 (off) or a decay below 1"),
]


# What a run writes into its folder: another run started there (without --resume) is refused unless --overwrite.
RUN_OUTPUTS = {"best.pt", "last.pt", "config.json", "log.jsonl", "summary.json", "media", "wandb"}


class ConfigError(ValueError):
    """A config value outside its range; the message starts with the flag."""


def check_config(cfg) -> None:
    """Refuse values no run can train with (checked as typed, before anything is written), naming the flag:
    ``--batch-size: must be above 0, got 0``."""
    for names, test, rule in LIMITS:
        for name in names:
            value = getattr(cfg, name, None)
            if value is not None and not (math.isfinite(value) and test(value)):
                raise ConfigError(f"--{name.replace('_', '-')}: must be {rule}, got {value}")


def run(stage_name: str, cfg, given: frozenset[str] | set[str] = frozenset(), overwrite: bool = False) -> dict:
    """Train ``stage_name`` with ``cfg`` (``given``: the flags the user typed, which a resumed run takes over its
    saved config; ``overwrite``: replace a run already in ``cfg.out``) and return the last figures."""
    logging.basicConfig(level=logging.INFO if distributed.rank_from_env() == 0 else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_config(cfg)
    processes = distributed.setup(cfg.device)  # one process unless torchrun started several
    # Rank 0 alone writes the run folder; it holds the folder's lock for as long as it runs.
    run_dir = _run_dir(cfg, stage_name) if processes.is_main else None
    with run_folder_lock(run_dir) if processes.is_main else contextlib.nullcontext():
        if processes.is_main and not cfg.resume:
            _clear_earlier_run(run_dir, overwrite)
        try:
            return train(stage_name, cfg, given, processes, processes.broadcast(run_dir))
        except OSError as error:  # e.g. a full disk: the message names the file, else the run folder
            raise naming(error, run_dir) from None
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; resume with: python train.py --stage {stage_name} --resume {run_dir}") \
                from None


def train(stage_name: str, cfg, given: set[str], processes: distributed.Processes, run_dir: Path) -> dict:
    """Train ``stage_name`` with ``cfg`` (``given``: the flags typed) into ``run_dir``; returns the last figures."""
    config_cls, stage = STAGES[stage_name]
    main_rank = processes.is_main
    resume = None
    if cfg.resume:
        resume, saved = resume_point(Path(cfg.resume), stage_name)
        # Continue the run as it was configured; only flags typed now (e.g. a longer --epochs) change it.
        cfg = dataclasses.replace(config_from_dict(config_cls, saved), **{name: getattr(cfg, name) for name in given})
    seed_everything(cfg.seed)
    device = processes.device
    torch.set_float32_matmul_precision("high")

    with processes.main_first():  # rank 0 renders, caches and mines first; the others then find it all done
        parts = stage.build(cfg)
    model = parts.model.to(device)
    if processes.world > 1:
        model = distributed.sync_batchnorm(model, device)
    amp_dtype = autocast_dtype(device, cfg.amp, parts.cpu_bfloat16)  # machine-dependent: the config records it
    config = {**config_to_dict(cfg), "stage": stage_name, "git": git_commit(), "data_root": parts.data_root,
              "precision": str(amp_dtype or torch.float32).removeprefix("torch."),
              **parts.provenance, **({"world_size": processes.world} if processes.world > 1 else {})}
    if main_rank:
        write_text_atomic(run_dir / "config.json", json.dumps(config, indent=1))
    log.info("stage %s -> %s on %s, %s (%d training samples, %.2fM parameters)", stage_name, run_dir, device,
             config["precision"], len(parts.train_set), sum(p.numel() for p in model.parameters()) / 1e6)

    start_epoch, step, best, planned = 0, 0, float("-inf"), cfg.epochs  # planned: epochs the LR schedule spans
    metrics = {}  # the last validation's figures
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = warmup_cosine(optimizer, cfg.warmup_steps, lambda: planned * cfg.steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    if cfg.init is not None and resume is None:
        start_from(model, Path(cfg.init), stage_name, stage.model_args(model))
    # The average of the weights is what validation sees and what "model" in a checkpoint holds (inference loads
    # it); the optimised weights travel beside it as "train_model" so that --resume continues them.
    ema = ModelEmaV3(model, decay=cfg.ema, use_warmup=True, warmup_power=3 / 4) if cfg.ema else None
    shipped = ema.module if ema is not None else model
    if resume is not None:
        model.load_state_dict(resume.get("train_model", resume["model"]))
        if ema is not None:
            ema.module.load_state_dict(resume["model"])  # a run without an average starts it from its weights
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        set_rng_state(resume["rng"])
        if scaler is not None and resume.get("scaler"):
            scaler.load_state_dict(resume["scaler"])
        start_epoch, step, best = resume["epoch"] + 1, resume["step"], resume["best"]
        planned = resume.get("planned_epochs", cfg.epochs) if "epochs" not in given else cfg.epochs
        metrics = resume.get("metrics", {})  # a finished run resumed trains nothing: its summary keeps them
        log.info("resumed from epoch %d (step %d, best %.4f)%s", resume["epoch"], step, best,
                 "" if start_epoch < planned else f": all {planned} planned epochs are done, nothing to train")
    step_model = processes.wrap(model)  # DDP over the processes; the model itself with one
    step_model = torch.compile(step_model) if cfg.compile and device.type == "cuda" else step_model
    losses = distributed.global_batch_losses(parts.losses, processes)

    # A resumed run's log loses what the stopped process logged after its checkpoint (a run started again from its
    # config.json, all of it): those steps are trained and logged again.
    logger = (RunLogger(run_dir, config, stage_name, cfg.wandb,
                        tags=["synthetic" if cfg.data is None else Path(cfg.data).name, config["git"]],
                        resume_step=resume["step"] if resume is not None else 0 if cfg.resume else None)
              if main_rank else distributed.NullLogger())
    started, epoch_minutes = time.time(), []  # epoch_minutes: of each epoch after the first this process trained
    # A time budget plans the schedule in a run's first epochs; a run resumed after that keeps its saved plan.
    planning = bool(cfg.max_minutes) and (resume is None or resume["epoch"] == 0)

    def on_step(values: dict) -> None:
        nonlocal step
        step += 1
        if ema is not None:
            ema.update(model, step)
        if step % 10 == 0:
            logger.log({f"train/{k}": v for k, v in values.items()}, step)

    epoch = start_epoch
    while epoch < planned:  # a time budget may lower `planned` after the second epoch
        epoch_started = time.time()
        parts.train_set.set_epoch(epoch)
        sampler = RandomSampler(parts.train_set, replacement=True, num_samples=cfg.steps_per_epoch * cfg.batch_size,
                                generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
        # Each process loads its share of every global batch (the whole batch when alone).
        batches = distributed.ShardedBatches(sampler, cfg.batch_size, processes.rank, processes.world)
        loader = DataLoader(parts.train_set, batch_sampler=batches, num_workers=cfg.workers, persistent_workers=False)
        try:
            train_stats = train_one_epoch(step_model, losses, loader, optimizer, scheduler, device, cfg.max_norm,
                                          amp_dtype, scaler, on_step, epoch, cfg.steps_per_epoch,
                                          progress=main_rank, step=step)
        except NonFiniteLoss as error:
            kept = f"last.pt keeps epoch {epoch - 1}" if epoch > 0 else "no checkpoint was written"
            raise NonFiniteLoss(f"{run_dir}: training stopped, {error}; {kept}") from None
        if main_rank:  # rank 0 validates, logs and checkpoints; the others wait for its figures below
            metrics = parts.validate(shipped, device)
            media = {key: metrics.pop(key) for key in ("images", "videos", "tables") if key in metrics}
            improved = metrics["score"] > best
            best = max(best, metrics["score"])
            minutes = (time.time() - started) / 60
            if epoch >= 1:
                epoch_minutes.append((time.time() - epoch_started) / 60)
            if planning and 1 <= epoch <= PLANNING_EPOCHS:
                # Machines differ in speed: rather than be cut off mid-schedule by the budget, fit the schedule to
                # the epochs that the budget allows at this machine's pace, revised over the first few epochs.
                before, planned = planned, epochs_within_budget(cfg.epochs, epoch + 1, minutes,
                                                                budget_pace(epoch_minutes), cfg.max_minutes)
                if planned != before:
                    log.info("%d of %d epochs fit the %.0f min budget at this machine's pace: the learning rate "
                             "schedule now ends after epoch %d", planned, cfg.epochs, cfg.max_minutes, planned - 1)
            logger.log({**{f"train/{k}_epoch": v for k, v in train_stats.items()},
                        **{f"val/{k}": v for k, v in metrics.items()}, "epoch": epoch, "minutes": minutes}, step)
            logger.media(media, step)
            log.info("epoch %d  loss %.4f  %s  (%.1f min)%s", epoch, train_stats["loss"],
                     "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)), minutes,
                     "  *best*" if improved else "")
            payload = {"stage": stage_name, "config": config, "model_args": stage.model_args(model),
                       "model": shipped.state_dict(),
                       **({"train_model": model.state_dict()} if ema is not None else {}),
                       "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                       "rng": rng_state(), "epoch": epoch, "step": step,
                       "best": best, "metrics": metrics, "planned_epochs": planned}
            # best.pt first: a run killed between the two saves resumes from the older last.pt and writes this
            # best.pt again (with last.pt first it would resume past the improvement and never write it), and a
            # run killed while saving its first last.pt resumes from best.pt, which then holds that same epoch.
            if improved:
                save_checkpoint(run_dir / "best.pt", payload)
            save_checkpoint(run_dir / "last.pt", payload)
        best, metrics, minutes, planned = processes.broadcast((best, metrics, minutes, planned) if main_rank else None)
        if cfg.max_minutes and minutes >= cfg.max_minutes:
            log.info("time budget of %.1f min reached after epoch %d", cfg.max_minutes, epoch)
            break
        epoch += 1
    logger.summary({"best_score": best, **{f"last_{k}": v for k, v in metrics.items()}, "run_dir": str(run_dir)})
    logger.finish()
    processes.close()
    return {"run_dir": run_dir, "best": best, **metrics}


def _run_dir(cfg, stage_name: str) -> Path:
    """The run folder: the one resumed, else ``--out``, else a new ``runs/<stage>_N``."""
    if cfg.resume:
        resume = Path(cfg.resume)
        if not resume.exists():
            raise CheckpointError(f"{resume}: no such run folder or checkpoint to resume")
        return resume if resume.is_dir() else resume.parent
    return Path(cfg.out) if cfg.out else next_run_dir(prefix=stage_name)


def _clear_earlier_run(run_dir: Path, overwrite: bool) -> None:
    """A run already in ``run_dir`` (its checkpoints, config or log) is refused, or with ``--overwrite`` removed:
    training over it would replace its checkpoints and append to its log."""
    earlier = sorted(p.name for p in run_dir.iterdir() if p.name in RUN_OUTPUTS)
    if earlier and not overwrite:
        raise ConfigError(f"{run_dir}: holds a run ({', '.join(earlier)}); continue it with --resume {run_dir}, "
                          "or replace it with --overwrite")
    for name in earlier:
        path = run_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def start_from(model: torch.nn.Module, path: Path, stage_name: str, args: dict) -> None:
    """Load ``--init`` weights into ``model``: the ``stage_name`` network of a checkpoint of that stage or of a
    tracker bundle, refused (naming the differing arguments) when it is not the network ``args`` describes."""
    part = stage_part(path, stage_name)
    differ = {key: (part["model_args"].get(key), value) for key, value in args.items()
              if part["model_args"].get(key) != value}
    if differ:
        raise ConfigError(f"--init {path}: its {stage_name} network differs from this config's: "
                          + ", ".join(f"{key} {theirs} (config {ours})" for key, (theirs, ours) in differ.items()))
    model.load_state_dict(part["model"])
    log.info("%s network starts from %s", stage_name, path)


def resume_point(path: Path, stage_name: str) -> tuple[dict | None, dict]:
    """What ``--resume PATH`` continues: (the checkpoint, or None to start again; the run's saved config).

    A file is the checkpoint. A run folder continues from its ``last.pt``; without one (killed while saving its
    first) from ``best.pt``, which each epoch writes first and so then holds that same epoch; without either (killed
    before its first checkpoint) the run starts again with the config its ``config.json`` recorded.
    """
    if path.is_dir():
        found = next((path / name for name in ("last.pt", "best.pt") if (path / name).is_file()), None)
        if found is None:
            return None, _saved_config(path / "config.json", stage_name)
        if found.name == "best.pt":
            log.warning("%s: no last.pt, resuming from best.pt", path)
        path = found
    payload = load_checkpoint(path, stage_name)
    return payload, payload["config"]


def _saved_config(path: Path, stage_name: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: nothing to resume: no last.pt, best.pt or config.json")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable run config: {error}") from None
    if not isinstance(config, dict) or config.get("stage") != stage_name:
        raise CheckpointError(f"{path}: not the config of a {stage_name} run")
    log.warning("%s: no checkpoint yet (stopped before its first epoch was saved): starting the run again",
                path.parent)
    return config
