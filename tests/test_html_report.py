"""The review report: one self-contained HTML file from training and evaluation run folders that renders in headless
Chromium; the W&B Report is skipped offline and selects the runs by their W&B IDs."""
from __future__ import annotations

import errno
import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

import evaluate
import report
from evaluation.figures import worst_frames
from evaluation.run_data import find_runs, load_run

CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """Path of a Chromium binary; the test is skipped when there is none."""
    found = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no headless Chromium found (apt-get install chromium; .ci/run installs it when it can)")
    return found


def headless(binary: str, profile, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout,
                          check=True)


@pytest.fixture(scope="module")
def run_dirs(tiny_runs, ball_data, tmp_path_factory):
    """The tiny proposal and refine training runs and an evaluation of their bundle on game 3."""
    out = tmp_path_factory.mktemp("review") / "exp_1"
    evaluate.main(["--data", str(ball_data), "--games", "3", "--weights", str(tiny_runs["bundle"]), "--out", str(out),
                   "--wandb", "off"])
    return [tiny_runs["proposal"].parent, tiny_runs["refine"].parent, out]


@pytest.fixture(scope="module")
def html_report(run_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "review.html"
    result = report.main([str(d) for d in run_dirs] + ["--out", str(out)])
    assert result["html"] == out
    return out


def test_report_is_self_contained_and_shows_every_run(html_report, run_dirs):
    page = html_report.read_text()
    for heading in ("Training curves", "SiBaTrAcc per clip", "Per-frame error histogram", "Worst frames",
                    "Overlay video"):
        assert f"<h2>{heading}</h2>" in page
    for run_dir in run_dirs:
        assert f"<h3>{run_dir.name}</h3>" in page
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/png;base64,", "data:video/webm;base64,")) for s in sources)
    assert sum(s.startswith("data:video/webm") for s in sources) == 3  # one overlay per run
    assert "game3_clip1 frame" in page  # worst-frame captions
    assert "<link" not in page and "<script" not in page


def test_report_renders_in_headless_chromium(html_report, tmp_path):
    binary = chromium()
    shot = tmp_path / "shot.png"
    headless(binary, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
             html_report.as_uri())
    image = cv2.imread(str(shot))
    assert image is not None and image.shape == (2000, 1280, 3)
    ink = (image < 200).any(axis=2).mean()  # share of pixels that are not page background
    assert ink > 0.01 and len(np.unique(image.reshape(-1, 3), axis=0)) > 100, "the screenshot is (nearly) blank"
    dom = headless(binary, tmp_path / "profile", "--dump-dom", html_report.as_uri()).stdout
    assert "SiBaTrAcc per clip" in dom and "exp_1" in dom and dom.count("<img") >= 6


def test_wandb_report_is_skipped_offline(run_dirs, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    result = report.main([str(run_dirs[2]), "--out", str(tmp_path / "r.html"), "--wandb-report"])
    assert result["wandb"] is None and "offline" in result["wandb_skipped"]
    assert "W&B report skipped: offline" in capsys.readouterr().out
    assert (tmp_path / "r.html").is_file()


def test_wandb_report_selects_the_runs_by_id(tmp_path):
    wr = pytest.importorskip("wandb_workspaces.reports.v2")
    from evaluation.wandb_report import build_wandb_report, unsynced

    runs = []
    for name, run_id in (("proposal_1", "abc123"), ("exp_2", "def456")):
        (tmp_path / name / "wandb" / f"offline-run-20260101_120000-{run_id}").mkdir(parents=True)
        (tmp_path / name / "config.json").write_text(json.dumps({"stage": name.split("_")[0]}))
        runs.append(load_run(tmp_path / name))
    built = build_wandb_report(runs, entity="someone")
    assert isinstance(built, wr.Report) and "proposal_1" in built.title
    (grid,) = [b for b in built.blocks if isinstance(b, wr.PanelGrid)]
    assert grid.runsets[0].filters == "ID in ['abc123', 'def456']"
    assert len(unsynced(runs)) == 2


def test_old_evaluation_folders_review_from_report_json(tmp_path):
    (tmp_path / "exp_9").mkdir()
    (tmp_path / "exp_9" / "report.json").write_text(json.dumps({
        "overall": {"sibatracc": 0.9, "f1": 0.5},
        "clips": [{"clip": "game1_clip1", "frames": 3, "sibatracc": 0.9, "frame_errors": [0.0, 5.0, 1.0]}]}))
    run = load_run(tmp_path / "exp_9")
    assert run.stage == "evaluate" and run.sibatracc == 0.9 and [r["error"] for r in run.frames] == [0.0, 5.0, 1.0]
    assert worst_frames(run, 2) == [("game1_clip1 frame 1: error 5.00", None),
                                    ("game1_clip1 frame 2: error 1.00", None)]
    assert find_runs(root=tmp_path) == [tmp_path / "exp_9"]


def test_a_folder_of_runs_stands_for_the_runs_inside(run_dirs, tmp_path, capsys):
    """``report.py runs/demo_N``: the demo's folder holds its proposal, refine and eval runs."""
    demo = tmp_path / "demo_1"
    for name, run_dir in zip(("proposal", "refine", "eval"), run_dirs):
        shutil.copytree(run_dir, demo / name)
    (demo / "notes").mkdir()  # not a run: left out
    result = report.main([str(demo)])
    page = result["html"].read_text()
    assert result["html"] == demo / "report.html"
    for name in ("eval", "proposal", "refine"):
        assert f"<h3>{name}</h3>" in page
    assert "<h3>notes</h3>" not in page
    assert report.cli([str(tmp_path / "nothing_here")]) == 2
    assert "nothing_here: no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report.cli([str(tmp_path / "empty")]) == 2
    assert "empty: not a run folder" in capsys.readouterr().err


def test_out_an_existing_folder_gets_report_html_and_a_write_error_is_one_line(run_dirs, tmp_path, monkeypatch,
                                                                               capsys):
    folder = tmp_path / "reviews"
    folder.mkdir()
    assert report.main([str(run_dirs[2]), "--out", str(folder)])["html"] == folder / "report.html"
    assert (folder / "report.html").is_file()

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    assert report.cli([str(run_dirs[2]), "--out", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {tmp_path / 'r.html'}: No space left on device"
