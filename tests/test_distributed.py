"""Multi-process training: two CPU processes (gloo over 127.0.0.1) reproduce one process with the same global batch.

Two levels, because AdamW amplifies float rounding (its first steps move every weight by about +-lr whatever the
gradient's size, so a rounding-level gradient near zero can flip a step): one process run with 1 and with 2 threads
already ends a 3-step tiny run up to 7e-4 apart on some weights, so trained weights cannot be compared tightly.

* gradients of one step (real ProposalNet with BatchNorm, real ProposalLoss, whose normaliser is the number of balls
  in the batch): equal to float rounding (measured 2e-6 relative); a control shows the naive per-rank loss is off;
* the real entry point: ``torchrun --nproc_per_node=2 train.py``, stopped after its first epoch and resumed, against
  one process: the weights must agree to a small fraction of the distance training moved them. Measured here with 2
  steps: 0.003; the same runs with per-rank losses: 0.58, with per-rank BatchNorm statistics: 1.29.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import BatchSampler, RandomSampler

import train
from engine import distributed
from engine.checkpoint import seed_everything
from model.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
GLOBAL_BATCH = 4


def test_shards_of_every_rank_make_the_single_process_batches():
    def sampler():  # as train.py builds it every epoch, on every rank
        return RandomSampler(range(50), replacement=True, num_samples=27, generator=torch.Generator().manual_seed(3))

    whole = list(BatchSampler(sampler(), 6, drop_last=True))
    shards = [list(distributed.ShardedBatches(sampler(), 6, rank, 3)) for rank in range(3)]
    assert len(whole) == len(shards[0]) == 4 and all(len(batch) == 2 for batch in shards[2])
    assert [sum((s[i] for s in shards), []) for i in range(len(whole))] == whole
    assert list(distributed.ShardedBatches(sampler(), 6)) == whole
    with pytest.raises(ValueError, match="multiple of the 4 processes"):
        distributed.ShardedBatches(sampler(), 6, 0, 4)


def _batch() -> dict:
    """A fixed global batch of 3-frame stacks with a bright ball and its heatmap targets; one stack has no ball."""
    from data_prep.stacks import heatmap_targets

    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.random((GLOBAL_BATCH, 3, 3, 32, 48), np.float32) * 0.3)
    targets = []
    for b in range(GLOBAL_BATCH):
        xy = rng.uniform([4, 4], [44, 28], (3, 2))
        present = np.array([b != 1] * 3)  # sample 1 has no ball: per-shard positive counts differ
        for t, (x, y) in enumerate(xy):
            if present[t]:
                frames[b, t, :, int(y), int(x)] = 1.0
        targets.append(heatmap_targets(xy, present, np.ones(3), (8, 12)))
    batch = {k: torch.from_numpy(np.stack([t[k] for t in targets])) for k in targets[0]}
    return {**batch, "frames": frames}


def _net_and_losses():
    from model.proposal import ProposalLoss, ProposalNet

    torch.manual_seed(0)
    net = ProposalNet(frames=3, widths=(8, 8, 16, 16))
    criterion = ProposalLoss()

    def losses(model, batch):
        logits, offset = model(batch["frames"])
        return criterion(logits, offset, batch)

    return net, losses


def _grads(net) -> dict:
    return {name: p.grad.clone() for name, p in net.named_parameters()}


def _rank_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    processes = distributed.setup("cpu")
    net, losses = _net_and_losses()
    net = distributed.sync_batchnorm(net, processes.device)
    model = processes.wrap(net)
    model.train()
    share = GLOBAL_BATCH // world
    mine = {k: v[rank * share:(rank + 1) * share] for k, v in _batch().items()}
    loss = distributed.global_batch_losses(losses, processes)(model, mine)["loss"]
    loss.backward()
    result = {"loss": loss.detach(), "grads": _grads(net), "buffers": {k: v.clone() for k, v in net.named_buffers()}}
    net.zero_grad()
    losses(model, mine)["loss"].backward()  # the naive way: each rank's own loss, DDP averages the gradients
    result["naive_grads"] = _grads(net)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # as the proposal trains on CPUs with AMX
        result["bfloat16_loss"] = distributed.global_batch_losses(losses, processes)(model, mine)["loss"]
    if rank == 0:
        torch.save(result, out)
    dist.barrier()
    processes.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_give_the_single_process_gradient_and_batchnorm_statistics(tmp_path):
    out = tmp_path / "rank0.pt"
    mp.spawn(_rank_worker, args=(2, _free_port(), str(out)), nprocs=2)
    ranks = torch.load(out, weights_only=True)
    net, losses = _net_and_losses()
    net.train()
    loss = losses(net, _batch())["loss"]
    loss.backward()
    torch.testing.assert_close(ranks["loss"], loss.detach(), rtol=1e-6, atol=0)
    torch.testing.assert_close(ranks["bfloat16_loss"], loss.detach(), rtol=0.05, atol=0)  # statistics in float32
    naive_error = 0.0
    for name, grad in _grads(net).items():
        scale = grad.abs().max().item()
        torch.testing.assert_close(ranks["grads"][name], grad, rtol=1e-4, atol=1e-5 * scale, msg=name)
        naive_error = max(naive_error, (ranks["naive_grads"][name] - grad).abs().max().item() / scale)
    assert naive_error > 0.05, "the control (per-rank losses) should differ: is the test batch too easy?"
    for name, buffer in net.named_buffers():
        torch.testing.assert_close(ranks["buffers"][name].to(buffer.dtype), buffer, rtol=1e-5, atol=1e-6, msg=name)


def test_more_processes_than_gpus_is_refused_with_advice(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", str(torch.cuda.device_count()))
    with pytest.raises(RuntimeError, match="--nproc_per_node"):
        distributed.setup("cuda")


def _tiny_args(data: Path, cache: Path) -> list[str]:
    # On the CPU (gloo) wherever the tests run: a machine with one GPU cannot hold two NCCL ranks. In float32: on a
    # CPU with AMX the proposal would train in bfloat16, whose rounding differs between batch splits and which
    # AdamW's first steps amplify (the bfloat16 path of the global BatchNorm is checked in the test above).
    return ["--stage", "proposal", "--device", "cpu", "--data", str(data), "--games", "1", "2", "--val-games", "3",
            "--width", "160", "--height", "96", "--crop-width", "96", "--crop-height", "64", "--steps-per-epoch", "1",
            "--batch-size", str(GLOBAL_BATCH), "--warmup-steps", "2", "--wandb", "off", "--epochs", "2",
            "--cache", str(cache), "--no-amp"]


def _torchrun(args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "train.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def _flat(state: dict, names: list[str]) -> torch.Tensor:
    return torch.cat([state[name].flatten() for name in names])


def test_torchrun_two_processes_stop_resume_and_match_one_process(ball_data, tmp_path):
    cache = tmp_path / "cache"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as torchrun's workers: the same kernels, less rounding noise between the runs
    try:
        train.main(_tiny_args(ball_data, cache) + ["--out", str(tmp_path / "one")])
    finally:
        torch.set_num_threads(threads)
    two = tmp_path / "two"
    # A time budget that ends the run after its first epoch, then a resume (typed --max-minutes 0 lifts the budget).
    log = _torchrun(_tiny_args(ball_data, cache) + ["--out", str(two), "--max-minutes", "1e-9"])
    assert log.count("INFO train: epoch 0") == 1 and "epoch 1" not in log  # rank 0 alone validates and logs
    assert load_checkpoint(two / "last.pt")["epoch"] == 0
    assert json.loads((two / "config.json").read_text())["world_size"] == 2
    _torchrun(["--stage", "proposal", "--resume", str(two), "--max-minutes", "0"])

    one, resumed = load_checkpoint(tmp_path / "one" / "last.pt"), load_checkpoint(two / "last.pt")
    assert (one["epoch"], one["step"]) == (resumed["epoch"], resumed["step"]) == (1, 2)
    seed_everything(0)  # the initial weights, as train.py builds them
    from engine.config import ProposalConfig
    from engine.proposal_stage import build

    initial = build(ProposalConfig(data=ball_data, games=[1, 2], val_games=[3], width=160, height=96,
                                   crop_width=96, crop_height=64, cache=cache)).model.state_dict()
    names = [name for name, value in one["model"].items() if value.dtype.is_floating_point
             and not name.endswith(("running_mean", "running_var"))]
    moved = (_flat(one["model"], names) - _flat(initial, names)).norm()
    apart = (_flat(resumed["model"], names) - _flat(one["model"], names)).norm()
    print(f"2 processes end {apart / moved:.4f} of the training distance away from 1 process")
    assert apart < 0.05 * moved, f"2-process run is {apart / moved:.3f} of the training distance from 1 process"
