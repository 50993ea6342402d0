"""``train.py --stage all --init BUNDLE`` never ends worse than it started: the fine-tuned networks become the
tracker only when they beat the starting ones on the validation games, and the decision is printed and recorded."""
import shutil

import pytest
import torch

import evaluate
import train
from engine import fine_tune_guard
from model.checkpoint import read_payload

TINY = ("--width 160 --height 96 --crop-width 96 --crop-height 64 --steps-per-epoch 4 --batch-size 4 "
        "--warmup-steps 2 --epochs 1")


def _argv(ball_data, start, out, cache):
    return ["--stage", "all", "--data", str(ball_data), "--games", "1", "--val-games", "2", "--test-games", "3",
            "--out", str(out), "--init", str(start), "--wandb", "off",
            "--proposal-flags", f"{TINY} --lr 0.01 --cache {cache}",
            "--refine-flags", f"--steps-per-epoch 4 --epochs 1 --lr 0.01 --cache {cache}"]


@pytest.fixture(scope="module")
def fine_tuned(ball_data, tiny_runs, tmp_path_factory):
    """The recipe run once from the tiny bundle (a high learning rate, so the fine-tuned networks differ from it)."""
    root = tmp_path_factory.mktemp("fine_tuned")
    assert train.cli(_argv(ball_data, tiny_runs["bundle"], root / "run", root / "cache")) == 0
    return {"run": root / "run", "cache": root / "cache"}


def _run_with(fine_tuned, ball_data, tiny_runs, tmp_path):
    """The recipe in a fresh run folder whose two stages are already trained (copied): it bundles, decides, scores."""
    out = tmp_path / "run"
    for stage in ("proposal", "refine"):
        shutil.copytree(fine_tuned["run"] / stage, out / stage)
    return out, train.cli(_argv(ball_data, tiny_runs["bundle"], out, fine_tuned["cache"]))


def _networks(path):
    payload = read_payload(path, "tracker")
    return {stage: payload[stage]["model"] for stage in ("proposal", "refine")}


def _same(a, b):
    return all(a[stage].keys() == b[stage].keys() and all(torch.equal(a[stage][k], b[stage][k]) for k in a[stage])
               for stage in a)


def _scripted(monkeypatch, scores):
    monkeypatch.setattr(fine_tune_guard, "validation_score", lambda path, clips, device="auto": scores[path.name])


@pytest.mark.parametrize("tuned, starting, sign", [(0.91, 0.95, "<"), (0.95, 0.95, "=")])
def test_fine_tuned_networks_that_do_not_beat_the_start_are_replaced_by_it(
        fine_tuned, ball_data, tiny_runs, tmp_path, monkeypatch, capsys, tuned, starting, sign):
    _scripted(monkeypatch, {"fine_tuned.pt": tuned, "starting.pt": starting})
    out, status = _run_with(fine_tuned, ball_data, tiny_runs, tmp_path)
    assert status == 0
    printed = capsys.readouterr().out
    assert (f"fine-tuned {tuned:.4f} {sign} starting {starting:.4f} on validation games 2 (1 clips): keeping the "
            f"starting weights") in printed
    kept = _networks(out / "tracker.pt")
    assert _same(kept, _networks(tiny_runs["bundle"]))  # the starting networks, bit for bit
    assert not _same(kept, _networks(out / "fine_tuned.pt"))
    payload = read_payload(out / "tracker.pt", "tracker")
    assert payload["decode"] == read_payload(out / "starting.pt", "tracker")["decode"]  # calibrated like the other
    guard = payload["provenance"]["init_guard"]
    assert guard["kept"] == "starting" and guard["sibatracc_fine_tuned"] == tuned
    assert guard["sibatracc_starting"] == starting and guard["start"] == str(tiny_runs["bundle"])
    assert (out / "held_out.json").is_file()  # the held-out report scores the tracker kept


def test_fine_tuned_networks_that_beat_the_start_are_kept(fine_tuned, ball_data, tiny_runs, tmp_path, monkeypatch,
                                                          capsys):
    _scripted(monkeypatch, {"fine_tuned.pt": 0.97, "starting.pt": 0.95})
    out, status = _run_with(fine_tuned, ball_data, tiny_runs, tmp_path)
    assert status == 0
    assert ("fine-tuned 0.9700 > starting 0.9500 on validation games 2 (1 clips): keeping the fine-tuned weights"
            in capsys.readouterr().out)
    kept = _networks(out / "tracker.pt")
    assert _same(kept, _networks(out / "fine_tuned.pt")) and not _same(kept, _networks(tiny_runs["bundle"]))
    assert read_payload(out / "tracker.pt", "tracker")["provenance"]["init_guard"]["kept"] == "fine-tuned"


def test_the_decision_is_made_on_the_trackers_validation_scores(fine_tuned, ball_data, tmp_path):
    out = fine_tuned["run"]
    guard = read_payload(out / "tracker.pt", "tracker")["provenance"]["init_guard"]
    scores = {name: evaluate.main(["--data", str(ball_data), "--games", "2", "--weights", str(out / name),
                                   "--out", str(tmp_path / name), "--wandb", "off"])
              for name in ("fine_tuned.pt", "starting.pt", "tracker.pt")}
    assert guard["sibatracc_fine_tuned"] == pytest.approx(scores["fine_tuned.pt"])
    assert guard["sibatracc_starting"] == pytest.approx(scores["starting.pt"])
    assert guard["kept"] == ("fine-tuned" if scores["fine_tuned.pt"] > scores["starting.pt"] else "starting")
    assert scores["tracker.pt"] == pytest.approx(max(scores["fine_tuned.pt"], scores["starting.pt"]))
