"""Train one stage of the tracker: the loop behind ``train.py`` (and the demo).

    python train.py --stage proposal                       # embedded synthetic data, default config
    python train.py --stage refine                         # needs a proposal checkpoint (weights/ or --proposal)
    python train.py --stage proposal --data ROOT --games 1 2 3 --val-games 4 --epochs 20
    python train.py --stage proposal --resume runs/proposal_3
    torchrun --standalone --nproc_per_node=2 train.py --stage proposal   # N processes, same global batch

Reads top to bottom: config -> seed -> data -> model -> optimiser -> resume -> loop (train, validate, checkpoint).
Each epoch writes ``last.pt`` and, when validation improves, ``best.pt`` into the run folder, with the config, the
model's constructor args and every RNG state, so ``--resume`` continues where a killed run stopped.
Under ``torchrun`` each process trains on its share of every batch with DistributedDataParallel and the result
matches one process with the same ``--batch-size`` (``engine/distributed.py`` says how); rank 0 alone validates and
writes the run folder and logs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import torch
from timm.utils import ModelEmaV3
from torch.utils.data import DataLoader, RandomSampler

from engine import baseline_stage, distributed, proposal_stage, refine_stage
from engine.checkpoint import rng_state, save_checkpoint, seed_everything, set_rng_state
from engine.config import (
    BaselineConfig,
    ProposalConfig,
    RefineConfig,
    add_config_args,
    config_from_args,
    config_from_dict,
    config_to_dict,
    git_commit,
)
from engine.logger import RunLogger
from engine.loop import (
    PLANNING_EPOCHS,
    autocast_dtype,
    budget_pace,
    epochs_within_budget,
    train_one_epoch,
    warmup_cosine,
)
from engine.runs import next_run_dir
from model.checkpoint import load_checkpoint

# stage name -> (config dataclass, module providing build(cfg) and model_args(model))
STAGES = {"proposal": (ProposalConfig, proposal_stage), "refine": (RefineConfig, refine_stage),
          "baseline": (BaselineConfig, baseline_stage)}
log = logging.getLogger("train")


def parse_args(argv=None):
    """(stage, config, flags given explicitly on the command line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--stage", choices=STAGES, required="-h" not in argv and "--help" not in argv)
    stage = pre.parse_known_args(argv)[0].stage or "proposal"
    config_cls, _ = STAGES[stage]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, required=True, help="which stage to train")
    add_config_args(parser.add_argument_group(f"{stage} config"), config_cls)
    args = parser.parse_args(argv)
    # The same flags with no defaults: what remains was typed by the user (resuming keeps everything else).
    explicit = argparse.ArgumentParser(add_help=False)
    add_config_args(explicit, config_cls, defaults=False)
    given = set(vars(explicit.parse_known_args(argv)[0]))
    return args.stage, config_from_args(config_cls, args), given


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO if distributed.rank_from_env() == 0 else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stage_name, cfg, given = parse_args(argv)
    config_cls, stage = STAGES[stage_name]
    processes = distributed.setup(cfg.device)  # one process unless torchrun started several
    main_rank = processes.is_main
    resume = None
    if cfg.resume:
        resume = load_checkpoint(_last(cfg.resume), stage_name)
        # Continue the run as it was configured; only flags typed now (e.g. a longer --epochs) change it.
        saved = config_from_dict(config_cls, resume["config"])
        cfg = dataclasses.replace(saved, **{name: getattr(cfg, name) for name in given})
    run_dir = None
    if main_rank:
        run_dir = Path(cfg.resume if cfg.resume and Path(cfg.resume).is_dir() else
                       (Path(cfg.resume).parent if cfg.resume else cfg.out or next_run_dir(prefix=stage_name)))
        run_dir.mkdir(parents=True, exist_ok=True)
    run_dir = processes.broadcast(run_dir)
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
        (run_dir / "config.json").write_text(json.dumps(config, indent=1))
    log.info("stage %s -> %s on %s, %s (%d training samples, %.2fM parameters)", stage_name, run_dir, device,
             config["precision"], len(parts.train_set), sum(p.numel() for p in model.parameters()) / 1e6)

    start_epoch, step, best, planned = 0, 0, float("-inf"), cfg.epochs  # planned: epochs the LR schedule spans
    metrics = {}  # the last validation's figures
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = warmup_cosine(optimizer, cfg.warmup_steps, lambda: planned * cfg.steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
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

    logger = (RunLogger(run_dir, config, stage_name, cfg.wandb,
                        tags=["synthetic" if cfg.data is None else Path(cfg.data).name, config["git"]])
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
        train_stats = train_one_epoch(step_model, losses, loader, optimizer, scheduler, device, cfg.max_norm,
                                      amp_dtype, scaler, on_step, epoch, cfg.steps_per_epoch, progress=main_rank)
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
            save_checkpoint(run_dir / "last.pt", payload)
            if improved:
                save_checkpoint(run_dir / "best.pt", payload)
        best, metrics, minutes, planned = processes.broadcast((best, metrics, minutes, planned) if main_rank else None)
        if cfg.max_minutes and minutes >= cfg.max_minutes:
            log.info("time budget of %.1f min reached after epoch %d", cfg.max_minutes, epoch)
            break
        epoch += 1
    logger.summary({"best_score": best, **{f"last_{k}": v for k, v in metrics.items()}, "run_dir": str(run_dir)})
    logger.finish()
    processes.close()
    return {"run_dir": run_dir, "best": best, **metrics}


def _last(path: Path) -> Path:
    path = Path(path)
    return path / "last.pt" if path.is_dir() else path
