"""Faults: a training run killed with SIGKILL, at any point (mid-epoch, or mid-save of either checkpoint), resumes
to the uninterrupted run's checkpoints and log; a run folder is locked while a process trains in it; train.py turns
bad input into one error line; a non-finite loss stops training before it reaches the weights; mixed frame sizes and a
full disk give clear errors and leave nothing half-written."""
import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import train
from data_prep.clips import DataError, load_clip
from data_prep.frame_cache import FrameCache
from engine import proposal_stage
from engine.checkpoint import save_checkpoint
from engine.loop import NonFiniteLoss, train_one_epoch
from engine.runs import RunFolderBusy, run_folder_lock
from model.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]


def tiny_args(data, cache, out, epochs=3):
    return ["--stage", "proposal", "--data", str(data), "--games", "1", "2", "--val-games", "3", "--width", "160",
            "--height", "96", "--crop-width", "96", "--crop-height", "64", "--steps-per-epoch", "3",
            "--batch-size", "4", "--warmup-steps", "2", "--wandb", "off", "--epochs", str(epochs),
            "--cache", str(cache), "--out", str(out)]


def test_sigkill_then_resume_matches_an_uninterrupted_run(ball_data, tmp_path):
    cache = tmp_path / "cache"
    train.main(tiny_args(ball_data, cache, tmp_path / "straight"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "train.py", *tiny_args(ball_data, cache, tmp_path / "killed")],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # wherever it is: mid-epoch, mid-validation or mid-save
    process.wait()
    if not last.exists():
        pytest.skip("the run finished or never checkpointed before the kill")
    train.main(["--stage", "proposal", "--resume", str(tmp_path / "killed")])
    a, b = load_checkpoint(tmp_path / "straight" / "last.pt"), load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == 2 and a["step"] == b["step"]
    for name, tensor in a["model"].items():
        torch.testing.assert_close(tensor, b["model"][name], msg=name)
    assert not list((tmp_path / "killed").glob(".*.tmp"))


def test_frames_of_mixed_sizes_are_refused(make_clip, tmp_path):
    clip_dir = make_clip(n=4, size=(64, 48))
    cv2.imwrite(str(clip_dir / "0002.jpg"), np.zeros((50, 64, 3), np.uint8))
    with pytest.raises(DataError, match=r"0002.jpg: frame is 64x50, the clip's first frame is 64x48"):
        FrameCache(tmp_path / "cache", progress=False).frames(load_clip(clip_dir), None)[:]  # read on access


def test_disk_full_while_caching_leaves_no_partial_file(make_clip, tmp_path, monkeypatch):
    clip = load_clip(make_clip(n=4))
    cache = FrameCache(tmp_path / "cache", progress=False)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        cache.frames(clip, (32, 24))  # a smaller size is cached; the source size is read from the frames
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def improving_every_epoch(build):
    """``build`` with a validation whose score rises by 1 each epoch (the real score + the epoch): every epoch then
    writes best.pt, as a run that keeps learning does."""
    def patched(cfg):
        parts = build(cfg)
        epoch = [0]
        set_epoch, validate = parts.train_set.set_epoch, parts.validate

        def record(e):
            epoch[0] = e
            set_epoch(e)

        parts.train_set.set_epoch = record
        parts.validate = lambda model, device: {**(m := validate(model, device)), "score": m["score"] + epoch[0]}
        return parts
    return patched


# Trains with improving_every_epoch and dies by SIGKILL while writing checkpoint argv[1] of epoch argv[2], leaving a
# partial temp file behind as a real kill mid-write does.
DIE_WHILE_SAVING = """
import os, signal, sys
import train
from engine import checkpoint, proposal_stage, train as engine_train
from tests.test_interruption import improving_every_epoch
name, epoch = sys.argv[1], int(sys.argv[2])
def die_while_saving(path, payload):
    if path.name == name and payload["epoch"] == epoch:
        path.with_name(f".{path.name}.{os.getpid()}.tmp").write_bytes(b"PK\\x03\\x04 half a checkpoint")
        os.kill(os.getpid(), signal.SIGKILL)
    checkpoint.save_checkpoint(path, payload)
proposal_stage.build = improving_every_epoch(proposal_stage.build)
engine_train.save_checkpoint = die_while_saving
train.main(sys.argv[3:])
"""


def python(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300, **kwargs)


def log_rows(run_dir: Path) -> list[str]:
    """log.jsonl without its clock readings, which no two runs share."""
    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [json.dumps({k: v for k, v in row.items() if k not in ("time", "minutes")}) for row in rows]


def assert_same_checkpoint(a: dict, b: dict) -> None:
    assert (a["epoch"], a["step"], a["best"]) == (b["epoch"], b["step"], b["best"])
    for key in ("model", "train_model"):
        for name, tensor in a[key].items():
            torch.testing.assert_close(tensor, b[key][name], msg=f"{key}.{name}")


@pytest.fixture(scope="module")
def improving_straight(ball_data, tmp_path_factory):
    """An uninterrupted 2-epoch run whose every epoch improves: (its folder, the frame cache it filled)."""
    root = tmp_path_factory.mktemp("improving")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proposal_stage, "build", improving_every_epoch(proposal_stage.build))
        train.main(tiny_args(ball_data, root / "cache", root / "straight", epochs=2))
    return root / "straight", root / "cache"


@pytest.mark.parametrize("name, epoch", [("best.pt", 0), ("last.pt", 0), ("best.pt", 1), ("last.pt", 1)])
def test_a_kill_while_saving_a_checkpoint_resumes_to_the_uninterrupted_run(name, epoch, improving_straight, ball_data,
                                                                           tmp_path, monkeypatch):
    straight, cache = improving_straight
    killed = tmp_path / "killed"
    died = python("-c", DIE_WHILE_SAVING, name, str(epoch), *tiny_args(ball_data, cache, killed, epochs=2))
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert list(killed.glob(f".{name}.*.tmp"))  # what the kill left half-written
    monkeypatch.setattr(proposal_stage, "build", improving_every_epoch(proposal_stage.build))
    train.main(["--stage", "proposal", "--resume", str(killed)])
    for checkpoint in ("last.pt", "best.pt"):
        assert_same_checkpoint(load_checkpoint(straight / checkpoint), load_checkpoint(killed / checkpoint))
    assert load_checkpoint(killed / "best.pt")["epoch"] == 1
    assert log_rows(killed) == log_rows(straight)  # the steps logged after the checkpoint appear once
    assert not list(killed.glob(".*.tmp"))


def test_resuming_drops_the_log_rows_written_after_the_checkpoint(tmp_path):
    from engine.logger import RunLogger

    rows = [{"step": 10, "train/loss": 1.0}, {"step": 12, "val/score": 0.5, "epoch": 0},
            {"step": 20, "train/loss": 0.5}, {"step": 24, "val/score": 0.7, "epoch": 1}]
    text = "".join(json.dumps(row) + "\n" for row in rows) + '{"step": 30, "tra'  # killed mid-line
    (tmp_path / "log.jsonl").write_text(text)
    logger = RunLogger(tmp_path, {"epochs": 3}, "proposal", "off", resume_step=12)
    logger.log({"train/loss": 0.6}, 20)
    logger.finish()
    assert [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()][:2] == rows[:2]
    assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[2])["train/loss"] == 0.6
    assert logger.best == 0.5  # what a validation's video decision compares with, as if never interrupted


HOLD_LOCK = """
import sys
from engine.runs import run_folder_lock
with run_folder_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_run_folder_is_refused_while_another_process_holds_it_and_free_once_it_dies(ball_data, tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(RunFolderBusy, match=rf"{folder}: run folder in use by process {holder.pid}"):
            train.main(tiny_args(ball_data, tmp_path / "cache", folder))
        assert not (folder / "config.json").exists()  # refused before writing anything
    finally:
        holder.send_signal(signal.SIGKILL)  # no cleanup runs: the kernel releases the lock
        holder.wait()
    with run_folder_lock(folder):
        with pytest.raises(RunFolderBusy, match=f"process {os.getpid()}"):  # one process, two holders: refused
            with run_folder_lock(folder):
                pass


def test_saving_sweeps_the_temp_files_of_dead_writers_only(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_tmp, live_tmp = tmp_path / f".last.pt.{gone.pid}.tmp", tmp_path / f".best.pt.{live.pid}.tmp"
        dead_tmp.write_bytes(b"half")
        live_tmp.write_bytes(b"being written")
        save_checkpoint(tmp_path / "last.pt", {"stage": "proposal", "weights": np.ones(3, np.float32)})
        assert not dead_tmp.exists() and live_tmp.read_bytes() == b"being written"
        assert torch.equal(torch.load(tmp_path / "last.pt", weights_only=True)["weights"], torch.ones(3))
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("case", ["missing data", "corrupt checkpoint", "bad value"])
def test_train_py_prints_one_error_line_with_status_2(case, ball_data, tmp_path):
    out = tmp_path / "run"
    args = ["train.py", "--stage", "proposal", "--wandb", "off", "--out", str(out)]
    if case == "missing data":
        args += ["--data", str(tmp_path / "nowhere")]
        expected = f"error: {tmp_path / 'nowhere'}: data folder does not exist"
    elif case == "corrupt checkpoint":
        out.mkdir()
        (out / "last.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
        args = ["train.py", "--stage", "proposal", "--resume", str(out)]
        expected = f"error: {out / 'last.pt'}: not a readable checkpoint"
    else:
        args += ["--batch-size", "0"]
        expected = "error: --batch-size: must be above 0, got 0"
    result = python(*args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1].startswith(expected) and "Traceback" not in result.stderr


def test_a_non_finite_loss_or_gradient_stops_the_epoch_before_the_weights_change():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    batches = [{"x": torch.randn(4, 3)} for _ in range(4)]

    def losses(net, batch, calls=[0]):
        calls[0] += 1
        out = net(batch["x"]).mean()
        if calls[0] == 3:
            return {"loss": out * float("nan")}
        return {"loss": out ** 2}

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    seen = []

    def on_step(values):
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    args = (optimizer, scheduler, torch.device("cpu"), 1.0, None, None, on_step, 4, 4)
    with pytest.raises(NonFiniteLoss, match=r"loss became nan at step 13 \(epoch 4\)"):
        train_one_epoch(model, losses, batches, *args, progress=False, step=10)
    assert len(seen) == 2
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, seen[-1][name])  # the weights of the last good step

    def infinite_gradient(net, batch):  # sqrt at 0: the loss is finite (0), its gradient is not
        return {"loss": torch.sqrt(((net.weight - net.weight.detach()) ** 2).sum())}

    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteLoss, match=r"gradient norm became nan at step 1 \(epoch 4\)"):
        train_one_epoch(model, infinite_gradient, batches, *args, progress=False)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_run_whose_loss_turns_nan_stops_naming_the_step_and_keeps_the_last_good_epoch(ball_data, tmp_path,
                                                                                        monkeypatch):
    build = proposal_stage.build

    def diverging(cfg):
        parts = build(cfg)
        losses, calls = parts.losses, [0]

        def nan_from_step_5(model, batch):
            calls[0] += 1
            terms = losses(model, batch)
            return {**terms, "loss": terms["loss"] * math.nan} if calls[0] >= 5 else terms
        parts.losses = nan_from_step_5
        return parts

    monkeypatch.setattr(proposal_stage, "build", diverging)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLoss, match=rf"{out}: training stopped, loss became nan at step 5 \(epoch 1\).*; "
                                            r"last.pt keeps epoch 0"):
        train.main(tiny_args(ball_data, tmp_path / "cache", out))
    last = load_checkpoint(out / "last.pt")
    assert last["epoch"] == 0 and all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())


def test_a_finished_run_is_not_trained_over_without_resume_or_overwrite(ball_data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("best.pt", "last.pt", "config.json", "log.jsonl", "summary.json"):
        (out / name).write_text(f"the earlier run's {name}")
    assert train.cli(tiny_args(ball_data, tmp_path / "cache", out, epochs=1)) == 2
    assert all((out / name).read_text() == f"the earlier run's {name}"
               for name in ("best.pt", "last.pt", "config.json", "log.jsonl", "summary.json"))
    train.main(tiny_args(ball_data, tmp_path / "cache", out, epochs=1) + ["--overwrite"])
    assert load_checkpoint(out / "last.pt")["epoch"] == 0
    assert len(log_rows(out)) == len([row for row in log_rows(out) if "earlier" not in row])


def test_a_full_disk_names_the_checkpoint_it_could_not_write_fresh_or_resumed(ball_data, tmp_path, monkeypatch,
                                                                              capsys):
    cache, resumed = tmp_path / "cache", tmp_path / "resumed"
    train.main(tiny_args(ball_data, cache, resumed, epochs=1))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    for argv, out in ((tiny_args(ball_data, cache, tmp_path / "fresh", epochs=1), tmp_path / "fresh"),
                      (["--stage", "proposal", "--resume", str(resumed), "--epochs", "2"], resumed)):
        assert train.cli(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert re.fullmatch(rf"error: {out}/(best|last)\.pt: No space left on device", err), err
    assert load_checkpoint(resumed / "last.pt")["epoch"] == 0  # the earlier checkpoint is whole


def test_training_clips_all_shorter_than_the_stack_are_one_error_line(tmp_path, capsys):
    from tests.conftest import write_ball_clip

    for game, frames in ((1, 2), (2, 2), (3, 8)):  # training games 1 and 2 hold 2 frames, the stack is 3
        write_ball_clip(tmp_path / "data" / f"game{game}" / "clip1", n=frames, seed=game)
    assert train.cli(tiny_args(tmp_path / "data", tmp_path / "cache", tmp_path / "run", epochs=1)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"error: {tmp_path / 'data'}: no training clip left, every one is unusable:"
    assert "game1/clip1: clip has 2 frames, shorter than the stack of 3" in err[1]


def test_ctrl_c_is_one_line_saying_how_to_go_on(ball_data, tmp_path, monkeypatch, capsys):
    import evaluate
    import track
    from engine import train as engine_train

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    monkeypatch.setattr(engine_train, "save_checkpoint", ctrl_c)  # the first epoch ends: Ctrl-C
    assert train.cli(tiny_args(ball_data, tmp_path / "cache", out, epochs=1)) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        f"interrupted; resume with: python train.py --stage proposal --resume {out}"
    monkeypatch.setattr("cli.evaluate.discover_clips", ctrl_c)
    assert evaluate.cli(["--data", str(ball_data), "--games", "3", "--predictions", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted; run the command again to redo it"
    monkeypatch.setattr("tracking.tracker.Tracker.load", ctrl_c)
    assert track.cli([str(ball_data / "game1" / "clip1"), "--out", str(tmp_path / "t")]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted; run the command again to redo it"
