"""The training loop shared by the stages: one epoch of optimisation, device and schedule helpers.

Every dependency comes in as an argument (DETR's ``train_one_epoch``); a stage supplies ``losses(model, batch)``
returning a dict whose ``loss`` entry is optimised.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm


class NonFiniteLoss(FloatingPointError):
    """Training diverged: a loss or gradient norm became NaN or infinite; the message names the step."""


@dataclass
class StageParts:
    """What the generic training loop needs from a stage."""

    model: nn.Module
    losses: Callable[[nn.Module, dict], dict]
    train_set: torch.utils.data.Dataset
    validate: Callable[[nn.Module, torch.device], dict]
    data_root: str
    provenance: dict  # extra facts saved in the config (e.g. the proposal the refiner mined with)
    cpu_bfloat16: bool = False  # train in bfloat16 on a CPU with AMX (see autocast_dtype): only where measured faster


def autocast_dtype(device: torch.device, amp: bool, cpu: bool = False) -> torch.dtype | None:
    """Mixed precision where the hardware computes in it natively; ``None`` = full precision.

    CUDA: bfloat16 where the GPU has it (no loss scaling, so no step is skipped), else float16 with a
    ``GradScaler``. CPU: bfloat16 only for a stage that asks for it (``cpu``) and a CPU with AMX tiles, where oneDNN
    runs the convolutions on them: the proposal's forward and backward took about half the time there (a whole step,
    data loading included, about 0.74), while the refiner's small transformer took twice as long (README). Other
    CPUs emulate bfloat16 and stay in full precision.
    """
    if not amp:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu and cpu_has_amx():
        return torch.bfloat16
    return None


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (Intel Sapphire Rapids and later); a private torch helper, so asked warily."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe()) if probe is not None else False


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup: int, total: Callable[[], int]
                  ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up for ``warmup`` steps, then cosine decay to 1% of the base rate at ``total()`` steps.

    ``total`` is asked at every step: a run may shorten its schedule to fit a time budget (train.py keeps the
    planned length in its checkpoints, so the scheduler itself holds no state of its own).
    """
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total() - warmup))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


PLANNING_EPOCHS = 3  # a time budget's plan is made after epoch 1 and revised after epochs 2 and 3


def budget_pace(epoch_minutes: list[float]) -> float:
    """Minutes per epoch to plan a time budget with: the median of the epochs timed so far (the caller leaves out a
    run's first, which warms caches). One epoch slowed by another job on the machine then no longer shortens the
    plan: a default proposal run once planned 18 epochs from one such epoch where about 27 fitted (see
    docs/experiments.md)."""
    return statistics.median(epoch_minutes)


def epochs_within_budget(epochs: int, done: int, minutes: float, epoch_minutes: float, budget: float) -> int:
    """How many epochs in all a run can do: at most ``epochs``, at least the ``done`` ones, and as many more as
    fit the ``budget - minutes`` left at ``epoch_minutes`` each."""
    return max(done, min(epochs, done + int((budget - minutes) / max(epoch_minutes, 1e-9))))


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def train_one_epoch(model: torch.nn.Module, losses: Callable[[torch.nn.Module, dict], dict], loader: Iterable,
                    optimizer: torch.optim.Optimizer, scheduler, device: torch.device, max_norm: float,
                    amp_dtype: torch.dtype | None, scaler: torch.amp.GradScaler | None,
                    on_step: Callable[[dict], None], epoch: int, total: int, progress: bool = True,
                    step: int = 0) -> dict[str, float]:
    """One pass over ``loader``; returns the mean of every loss term.

    Raises :class:`NonFiniteLoss` on a non-finite loss or gradient norm before the optimiser applies that step, so
    the weights stay those of the last good step and nothing diverged reaches a checkpoint. Under float16 loss
    scaling an infinite gradient is the scaler's business instead (it skips that step and lowers the scale).
    ``amp_dtype``: autocast to this dtype (see :func:`autocast_dtype`); ``scaler``: loss scaling (float16 only).
    ``progress`` shows a progress bar (one process of a multi-process run shows it, not all). ``step``: the
    optimiser steps done before this epoch, so that an error names the run's step.
    """
    model.train()
    sums, count = defaultdict(float), 0
    scaled = scaler is not None  # float16: the loss is scaled against underflow
    bar = tqdm(loader, total=total, desc=f"epoch {epoch}", leave=False, dynamic_ncols=True, disable=not progress)
    for batch in bar:
        batch = to_device(batch, device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            terms = losses(model, batch)
        loss = terms["loss"]
        where = f"at step {step + count + 1} (epoch {epoch})"
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"loss became {loss.item()} {where}: " + _terms_text(terms))
        optimizer.zero_grad(set_to_none=True)
        if scaled:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        if not scaled and not torch.isfinite(norm):
            raise NonFiniteLoss(f"gradient norm became {norm.item()} {where}: " + _terms_text(terms))
        if scaled:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        values = {k: float(v.detach()) for k, v in terms.items()}
        for k, v in values.items():
            sums[k] += v
        count += 1
        bar.set_postfix(loss=f"{values['loss']:.4f}")
        on_step({**values, "lr": optimizer.param_groups[0]["lr"]})
    return {k: v / max(count, 1) for k, v in sums.items()}


def _terms_text(terms: dict) -> str:
    return ", ".join(f"{k} {float(v.detach()):.4g}" for k, v in terms.items())
