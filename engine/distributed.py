"""Multi-process training under ``torchrun``: process group, sharded batches, global-batch losses, synchronised
BatchNorm, rank-0-only side effects.

    torchrun --standalone --nproc_per_node=N train.py --stage proposal ...

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them (or with ``WORLD_SIZE=1``) nothing here
changes a thing and ``train.py`` runs as a single process. With N > 1 processes a run reproduces the single-process
run with the same global batch ``B = --batch-size`` (up to float rounding):

1. Sampling: every rank builds the same seeded sampler, cuts its sequence into the same global batches of B
   indices, and takes the rank-th of N contiguous slices (:class:`ShardedBatches`). Samples depend only on
   (seed, epoch, index), so the union of the shards, in rank order, is the single process's batch, sample for
   sample.
2. Forward: each rank runs the network on its own B/N samples only; that is where the work is split.
3. Loss: the stages normalise by batch-level counts (ProposalLoss divides by the positives in the batch, RefineLoss
   by the balls among the crops), so the mean of per-rank losses is not the global loss. Instead every rank
   gathers all ranks' network outputs and the batch's targets and evaluates the stage's own, unchanged
   ``losses(net, batch)`` on the global batch (:func:`global_batch_losses`): every rank holds the single-process
   loss L.
4. Backward: the gather's backward sums the gradients that all ranks send to a rank's outputs; as every rank
   holds the same L, that is N times dL/d(own outputs). DDP then averages parameter gradients over the N ranks:
   (1/N) sum_r N g_r = sum_r g_r = dL/dtheta, the single-process gradient. Clipping, AdamW and the scheduler then
   see identical gradients on every rank.
5. BatchNorm: batch statistics over the global batch. On CUDA torch's ``SyncBatchNorm``; it refuses CPU tensors
   (torch 2.14), so on CPU (gloo) :class:`GlobalBatchNorm` computes the same statistics with two autograd-aware
   all-reduces. Without either, each rank would normalise with the statistics of its B/N samples only.

What it costs: the targets and the network inputs of the whole batch are gathered on every rank (the inputs only
to be sliced back to the rank's share; activations, the bulk of the memory, stay per rank), and the loss itself is
evaluated N times (elementwise work, small next to the networks' forward and backward; not measured on GPUs). It
buys a match to float rounding whatever loss a stage defines. ``losses`` may call the network once, on tensors
whose first axis is the batch.

Rank 0 prepares data and caches first (the others wait), validates, decides when to stop and writes config,
checkpoints and logs; the other ranks get its verdict by broadcast. Every rank reads a ``--resume`` checkpoint.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import BatchSampler, Sampler

from model.checkpoint import resolve_device

# Ranks other than 0 wait in a collective while rank 0 renders or caches data and validates: allow for that.
TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class Processes:
    """Where this process stands: its rank among ``world`` processes and the device it trains on."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def broadcast(self, value):
        """Rank 0's ``value`` (any picklable object made by this program) on every rank."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (rendering, frame caches, mined candidates), then the others."""
        if self.world > 1 and not self.is_main:
            dist.barrier()
        yield
        if self.world > 1 and self.is_main:
            dist.barrier()

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model to train: itself for one process, else DDP (which starts from rank 0's weights)."""
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        if self.world > 1:
            dist.destroy_process_group()


def setup(device: str) -> Processes:
    """Join the process group ``torchrun`` describes in the environment; one process when there is none.

    The backend follows the device: NCCL on CUDA (each rank on GPU ``LOCAL_RANK``), gloo on CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    resolved = resolve_device(device)
    if world == 1:
        return Processes(0, 1, resolved)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if resolved.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"process {local_rank} of this node has no GPU of its own: torchrun started "
                               f"{os.environ.get('LOCAL_WORLD_SIZE', '?')} processes here, and CUDA sees "
                               f"{torch.cuda.device_count()} GPU(s); start at most that many "
                               f"(--nproc_per_node) or train on the CPU (--device cpu)")
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
        dist.init_process_group("nccl", timeout=TIMEOUT, device_id=resolved)
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return Processes(rank, world, resolved)


def rank_from_env() -> int:
    return int(os.environ.get("RANK", "0"))


class ShardedBatches(Sampler[list[int]]):
    """This rank's share of every global batch of ``sampler``.

    Global batches are consecutive runs of ``batch_size`` indices (an incomplete last one is dropped, as
    ``DataLoader(drop_last=True)`` does); rank r takes slice r of ``world`` equal contiguous slices. With one
    process it yields exactly the batches ``DataLoader(batch_size, sampler=sampler, drop_last=True)`` draws.
    """

    def __init__(self, sampler: Sampler[int], batch_size: int, rank: int = 0, world: int = 1):
        if batch_size % world:
            raise ValueError(f"--batch-size {batch_size} must be a multiple of the {world} processes "
                             "(it is the global batch, split evenly)")
        self.sampler, self.batch_size, self.rank, self.world = sampler, batch_size, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        share = self.batch_size // self.world
        for batch in BatchSampler(self.sampler, self.batch_size, drop_last=True):
            yield batch[self.rank * share:(self.rank + 1) * share]

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size


class _GatherShards(torch.autograd.Function):
    """Concatenate every rank's (b, ...) tensor along axis 0 in rank order -> (world * b, ...).

    Backward: the gradient of the sum over ranks of each rank's loss with respect to this rank's slice, i.e. the
    all-reduced (summed) gradient of the gathered tensor, sliced back to this rank's rows.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rows, ctx.rank = len(x), dist.get_rank()
        return torch.cat(_all_gather(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces the gradient: every rank's copy of the sum feeds its loss."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


def _all_gather(x: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``x`` (same shape on all ranks); bool goes over the wire as uint8."""
    wire = x.to(torch.uint8) if x.dtype == torch.bool else x.contiguous()
    parts = [torch.empty_like(wire) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, wire)
    return [p.bool() for p in parts] if x.dtype == torch.bool else parts


def gather_batch(batch: dict) -> dict:
    """The global batch: every tensor of this rank's batch concatenated with the other ranks' along axis 0."""
    return {k: torch.cat(_all_gather(v)) if torch.is_tensor(v) else v for k, v in batch.items()}


def _gather_outputs(out):
    if torch.is_tensor(out):
        return _GatherShards.apply(out)
    if isinstance(out, dict):
        return {k: _gather_outputs(v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return type(out)(_gather_outputs(v) for v in out)
    return out


class ShardedForward:
    """Calls ``net`` on this rank's rows of global-batch inputs and returns every rank's outputs, gathered.

    ``net(x)`` with x (B, ...) runs the network on x[rank * B/N:(rank + 1) * B/N] and returns outputs with B rows
    (the other ranks' rows come from their own forward passes), differentiable for this rank's rows.
    """

    def __init__(self, net: nn.Module, rank: int, world: int):
        self.net, self.rank, self.world = net, rank, world

    def __call__(self, *args, **kwargs):
        args = [self._mine(a) for a in args]
        kwargs = {k: self._mine(v) for k, v in kwargs.items()}
        return _gather_outputs(self.net(*args, **kwargs))

    def _mine(self, value):
        if not torch.is_tensor(value):
            return value
        assert len(value) % self.world == 0, f"batch axis of {len(value)} does not split over {self.world} ranks"
        share = len(value) // self.world
        return value[self.rank * share:(self.rank + 1) * share]


def global_batch_losses(losses: Callable[[nn.Module, dict], dict], processes: Processes
                        ) -> Callable[[nn.Module, dict], dict]:
    """``losses(net, batch)`` evaluated on the global batch (see the module docstring for why this is exact).

    The returned function takes this rank's batch; every rank returns the same loss terms.
    """
    if processes.world == 1:
        return losses

    def on_global_batch(net: nn.Module, batch: dict) -> dict:
        return losses(ShardedForward(net, processes.rank, processes.world), gather_batch(batch))

    return on_global_batch


class GlobalBatchNorm(nn.BatchNorm2d):
    """``BatchNorm2d`` with training statistics over the samples of every rank: ``SyncBatchNorm`` for CPU.

    Training: mean and biased variance over the batch and spatial axes of all ranks (two autograd-aware
    all-reduces), running statistics updated as BatchNorm does (unbiased variance, momentum or cumulative
    average). Evaluation, or no process group: plain BatchNorm. Same parameters and buffers as ``BatchNorm2d``,
    so checkpoints load into the plain model. (It is no ``SyncBatchNorm`` subclass: DDP refuses those on CPU.)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (b, c, h, w) -> (b, c, h, w); statistics in float32 whatever x's dtype (bfloat16 under autocast)."""
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        axes, shape, dtype = (0, 2, 3), (1, -1, 1, 1), x.dtype
        x = x.float()
        count = torch.tensor(float(x.numel() // x.shape[1]), dtype=x.dtype, device=x.device)
        dist.all_reduce(count)
        mean = _SumOverRanks.apply(x.sum(axes)) / count
        centred = x - mean.view(shape)
        var = _SumOverRanks.apply((centred * centred).sum(axes)) / count
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean, factor)
                self.running_var.lerp_(var * count / (count - 1), factor)
        return y.to(dtype)


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm layer of ``model`` made to use global-batch statistics (same parameters and buffers).

    CUDA: torch's ``SyncBatchNorm``. CPU: :class:`GlobalBatchNorm` for ``BatchNorm2d`` (the only kind the models
    here use); another kind of BatchNorm on CPU is refused rather than silently left per rank.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    other = [type(m).__name__ for m in model.modules()
             if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d, nn.SyncBatchNorm))]
    if other:
        raise NotImplementedError(f"multi-process CPU training synchronises BatchNorm2d only, the model has {other}")
    return _to_global_batchnorm(model)


def _to_global_batchnorm(module: nn.Module) -> nn.Module:
    if type(module) is nn.BatchNorm2d:
        norm = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            norm.weight, norm.bias = module.weight, module.bias
        if module.track_running_stats:
            norm.running_mean, norm.running_var = module.running_mean, module.running_var
            norm.num_batches_tracked = module.num_batches_tracked
        norm.train(module.training)
        return norm
    for name, child in module.named_children():
        module.add_module(name, _to_global_batchnorm(child))
    return module


class NullLogger:
    """Stands in for ``RunLogger`` on ranks other than 0: every call does nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _ignore


def _ignore(*args, **kwargs) -> None:
    return None
