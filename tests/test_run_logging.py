"""What runs log: read back an offline W&B run (its ``.wandb`` record log and media files) and the media mirrored
into the run folder; the W&B mode rules; W&B failures never stop a run."""
from __future__ import annotations

import csv
import json
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import evaluate
import train
from data_prep.clips import discover_clips
from engine.config import ProposalConfig
from engine.logger import RunLogger, wandb_mode
from engine.loop import autocast_dtype
from evaluation.predictions import Track, write_track
from model.checkpoint import resolve_device

BLOCK, HEADER = 32768, 7  # the .wandb file is a LevelDB-style log: 32 KiB blocks, 7-byte record headers


def wandb_records(run_dir: Path, wait_s: float = 30.0) -> dict[str, list]:
    """Every record of the run's ``wandb/offline-run-*/run-*.wandb``, by record type.

    W&B's service process writes the file and may still be flushing it after ``finish()`` has returned: once a
    record could not be parsed, once the file held no records yet (CI, stop 21). So the file is read again, for up
    to ``wait_s``, until it parses and holds the ``exit`` record that ``finish()`` writes last.
    """
    from google.protobuf.message import DecodeError

    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            records = parse_wandb_log(path)
            if "exit" in records:
                return records
        except DecodeError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} has no exit record after {wait_s:.0f} s: {sorted(records)}")
        time.sleep(0.2)


def parse_wandb_log(path: Path) -> dict[str, list]:
    from wandb.proto import wandb_internal_pb2

    data, pos, pending, out = path.read_bytes(), HEADER, b"", {}
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the rest of a block too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if length == 0 and kind == 0:
            pos += left
            continue
        pending += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):  # full record, or last fragment of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.setdefault(record.WhichOneof("record_type"), []).append(record)
            pending = b""
    return out


def items(updates) -> dict:
    """Config / summary / history items as {key: value}; nested keys joined by '/'."""
    return {u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in updates}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def offline_run(ball_data, tmp_path_factory):
    """A proposal trained for 3 steps with W&B offline: (run folder, what train.main returned)."""
    root = tmp_path_factory.mktemp("offline_run")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("WANDB_API_KEY", raising=False)
        patch.setenv("WANDB_MODE", "offline")
        result = train.main(["--stage", "proposal", "--data", str(ball_data), "--games", "1", "2", "--val-games", "3",
                             "--steps-per-epoch", "3", "--batch-size", "4", "--warmup-steps", "2", "--epochs", "1",
                             "--width", "160", "--height", "96", "--crop-width", "96", "--crop-height", "64",
                             "--cache", str(root / "cache"), "--out", str(root / "proposal"), "--wandb", "offline"])
    return root / "proposal", result


def test_wandb_mode_follows_flag_key_and_environment():
    assert wandb_mode("offline", {}) == "offline"
    assert wandb_mode("online", {}) == "online"
    assert wandb_mode("offline", {"WANDB_API_KEY": "k"}) == "online"  # a configured key syncs by default
    assert wandb_mode("offline", {"WANDB_MODE": "online"}) == "online"
    assert wandb_mode("off", {"WANDB_API_KEY": "k", "WANDB_MODE": "online"}) == "off"
    assert wandb_mode("online", {"WANDB_MODE": "disabled"}) == "off"
    with pytest.raises(ValueError, match="offline, online or off"):
        wandb_mode("sometimes", {})


def test_offline_run_holds_config_tags_and_group(offline_run, ball_data):
    run_dir, _ = offline_run
    run = wandb_records(run_dir)["run"][0].run
    config, saved = items(run.config.update), json.loads((run_dir / "config.json").read_text())
    assert {k: config[k] for k in saved} == saved  # the full resolved config, git commit and data root included
    assert config["stage"] == "proposal" and config["lr"] == ProposalConfig.lr and config["width"] == 160
    assert run.run_group == "proposal" and run.job_type == "proposal" and run.display_name == "proposal"
    assert set(run.tags) == {ball_data.name, saved["git"]}


def test_config_records_the_precision_each_stage_trained_in(tiny_runs):
    """On a CPU, bfloat16 only for the proposal and only with AMX: measured faster there, slower for the refiner."""
    for stage, asks in (("proposal", True), ("refine", False)):
        saved = json.loads((tiny_runs[stage].parent / "config.json").read_text())
        wanted = autocast_dtype(resolve_device(saved["device"]), saved["amp"], cpu=asks) or torch.float32
        assert saved["precision"] == str(wanted).removeprefix("torch.")


def test_offline_run_holds_losses_validation_and_summary(offline_run):
    run_dir, result = offline_run
    records = wandb_records(run_dir)
    history = [items(r.history.item) for r in records["history"]]
    validation = [h for h in history if "val/score" in h]
    assert len(validation) == 1 and validation[0]["val/score"] == pytest.approx(result["score"])
    assert {"train/loss_epoch", "val/sibatracc", "val/recall@1", "epoch"} <= set(validation[0])
    summary = {}
    for record in records["summary"]:
        summary.update(items(record.summary.update))
    assert summary["best_score"] == pytest.approx(result["best"])
    assert summary["last_sibatracc"] == pytest.approx(result["sibatracc"])
    assert json.loads((run_dir / "summary.json").read_text())["best_score"] == pytest.approx(result["best"])
    logged = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert logged[-1]["val/score"] == pytest.approx(result["score"])


def test_offline_run_holds_media_and_mirrors_them(offline_run, ball_data):
    run_dir, _ = offline_run
    files = next(run_dir.glob("wandb/offline-run-*/files/media"))
    (table,) = files.glob("table/val/per_clip_*.table.json")
    assert [row[0] for row in json.loads(table.read_text())["data"]] == ["game3_clip1"]
    assert list(files.glob("images/val/heatmap_game3_clip1_*.png"))
    assert list(files.glob("videos/val/overlay_game3_clip1_*.webm"))
    assert list(files.glob("table/val/frame_errors_*.table.json"))

    media = run_dir / "media"
    heatmap = cv2.imread(str(media / "val_heatmap_game3_clip1.png"))
    assert heatmap.shape == (96, 160, 3) and heatmap.std() > 5
    clip = discover_clips(ball_data, [3])[0]
    per_clip, frames = read_csv(media / "val_per_clip.csv"), read_csv(media / "val_frame_errors.csv")
    assert [row["clip"] for row in per_clip] == ["game3_clip1"] and int(per_clip[0]["frames"]) == len(clip)
    assert [int(row["frame"]) for row in frames] == list(range(len(clip)))
    assert [int(row["gt_code"]) for row in frames] == clip.labels.codes.tolist()
    errors = np.array([float(row["error"]) for row in frames])
    assert 1 - errors.sum() / (5 * len(clip)) == pytest.approx(float(per_clip[0]["sibatracc"]), abs=1e-3)
    video = cv2.VideoCapture(str(media / "val_overlay_game3_clip1.webm"))
    count = 0
    while video.read()[0]:
        count += 1
    assert count == len(clip)


def test_refine_validation_draws_crop_stacks(tiny_runs):
    sheet = cv2.imread(str(tiny_runs["refine"].parent / "media" / "val_crops_game3_clip1.png"))
    frames, crop = 5, 32 * 4  # t-2 .. t+2, 32 px crops enlarged 4 times, 2 px gaps
    assert sheet.shape[1] == frames * (crop + 2) - 2 and (sheet.shape[0] + 2) % (crop + 2) == 0


def test_evaluate_logs_its_run_and_wandb_off_writes_no_wandb_folder(ball_data, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    clips = discover_clips(ball_data, [1, 3])
    for clip in clips:  # a perfect tracker's saved output
        write_track(tmp_path / "pred" / f"{clip.name}.csv", Track(clip.labels.codes, clip.labels.xy))
    common = ["--data", str(ball_data), "--games", "1", "3", "--predictions", str(tmp_path / "pred")]

    assert evaluate.main(common + ["--out", str(tmp_path / "off"), "--wandb", "off"]) == 1.0
    off = tmp_path / "off"
    assert not (off / "wandb").exists()
    assert [row["clip"] for row in read_csv(off / "media" / "eval_per_clip.csv")] == ["game1_clip1", "game3_clip1"]
    assert (off / "media" / "eval_overlay_game1_clip1.webm").stat().st_size > 0
    assert json.loads((off / "config.json").read_text())["data_root"] == str(ball_data)

    assert evaluate.main(common + ["--out", str(tmp_path / "on")]) == 1.0  # offline by default
    records = wandb_records(tmp_path / "on")
    assert records["run"][0].run.run_group == "evaluate"
    summary = {}
    for record in records["summary"]:
        summary.update(items(record.summary.update))
    assert summary["sibatracc"] == 1.0 and summary["frames"] == sum(len(clip) for clip in clips)


class CountingVideo:
    name = "overlay_test"

    def __init__(self):
        self.written = 0

    def write(self, path: Path) -> Path:
        self.written += 1
        Path(path).write_bytes(b"video")
        return Path(path)


def test_videos_render_only_when_the_score_improves_or_on_the_last_epoch(tmp_path):
    logger = RunLogger(tmp_path, {"epochs": 4}, "proposal", "off")
    video = CountingVideo()
    renders = []
    for epoch, score in enumerate([0.5, 0.4, 0.6, 0.3]):
        logger.log({"val/score": score, "epoch": epoch}, step=epoch)
        before = video.written
        logger.media({"videos": [video]}, step=epoch)
        renders.append(video.written > before)
    logger.finish()
    assert renders == [True, False, True, True]  # best, worse, best, last epoch
    assert (tmp_path / "media" / "val_overlay_test.webm").read_bytes() == b"video"


def test_a_wandb_failure_never_stops_a_run(tmp_path, monkeypatch):
    import wandb

    def broken(*args, **kwargs):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(wandb, "init", broken)
    logger = RunLogger(tmp_path / "a", {"lr": 1.0}, "proposal", "offline")
    assert logger.wandb is None
    logger.log({"train/loss": 1.0}, step=1)
    logger.media({"images": [np.zeros((8, 8, 3), np.uint8)], "tables": {"per_clip": (["clip"], [["c"]])}}, step=1)
    logger.summary({"best_score": 0.5})
    logger.finish()
    assert json.loads((tmp_path / "a" / "log.jsonl").read_text())["train/loss"] == 1.0
    assert (tmp_path / "a" / "media" / "val_overlay_0.png").is_file()

    monkeypatch.undo()
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    logger = RunLogger(tmp_path / "b", {"lr": 1.0}, "proposal", "offline")
    run = logger.wandb
    assert run is not None
    monkeypatch.setattr(run, "log", broken)
    logger.log({"train/loss": 1.0}, step=1)  # fails inside W&B, carries on locally
    logger.log({"train/loss": 0.5}, step=2)
    logger.finish()
    run.finish()
    assert logger.wandb is None and len((tmp_path / "b" / "log.jsonl").read_text().splitlines()) == 2
