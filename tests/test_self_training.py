"""The self-training sequence: every step runs once, a rerun after a kill goes on where it stopped, and a round
that does not beat its teacher stops the sequence. The steps themselves (import, pseudo-labels, training, bundle,
held-out score) are tested where they live; here they are replaced by stand-ins that leave the same results."""
import json

import pytest

import engine.self_training as self_training


class Steps:
    """Stand-ins for the CLIs: record each call and leave the files the real step leaves."""

    def __init__(self, scores, fail_on=None):
        self.calls, self.scores, self.fail_on = [], list(scores), fail_on

    def __call__(self, title, args, cwd=None):
        kind = args[0] if args[0] != "-m" else args[1]
        self.calls.append(kind)
        if kind == self.fail_on:
            self.fail_on = None
            raise SystemExit(f"error: step '{title}' failed")
        if kind == "data_prep.importers":
            out = args[args.index("--out") + 1]
            game = args[args.index("--game") + 1]
            clip = self_training.Path(out) / f"game{game}" / "clip1"
            clip.mkdir(parents=True, exist_ok=True)
            (clip / "0000.jpg").write_bytes(b"jpeg")
        if kind == "tracking.pseudo_labels":
            return "29 clips: 10 balls, 0 no ball, 2 ignored of 12 frames (83% kept)\n"
        if kind == "train.py":
            run = self_training.Path(args[args.index("--out" if "--out" in args else "--resume") + 1])
            run.mkdir(parents=True, exist_ok=True)
            (run / "config.json").write_text("{}")
            (run / "summary.json").write_text("{}")
        if kind == "engine.bundle":
            self_training.Path(args[args.index("--out") + 1]).write_bytes(b"bundle")
        if kind == "bench/calibration.py":
            return "== calibration\n" + json.dumps({"sibatracc_calibrated": self.scores.pop(0)}) + "\n"
        return ""


@pytest.fixture
def setup(tmp_path, make_clip):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("b.mp4", "a.MOV", "notes.txt"):
        (videos / name).write_bytes(b"x")
    labelled = tmp_path / "labelled"
    for game in (1, 2, 3):
        make_clip(f"game{game}/clip1", root=labelled)
    teacher = tmp_path / "teacher.pt"
    teacher.write_bytes(b"weights")
    args = ["--videos", str(videos), "--labelled", str(labelled), "--teacher", str(teacher),
            "--out", str(tmp_path / "out"), "--rounds", "2"]
    return tmp_path, args


def test_rounds_run_each_step_once_and_a_rerun_redoes_nothing(setup, monkeypatch):
    tmp_path, args = setup
    steps = Steps([0.80, 0.85, 0.87, 0.86])
    monkeypatch.setattr(self_training, "run_step", steps)
    assert self_training.main(args) == 0
    round_steps = ["train.py", "engine.bundle", "bench/calibration.py"]
    assert steps.calls == ["data_prep.importers"] * 2 + ["bench/calibration.py"] + (
        ["tracking.pseudo_labels"] + round_steps) * 2 + round_steps  # the last three: the proposal
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [r["held_out"] for r in summary["rounds"]] == [0.80, 0.85, 0.87, 0.86]
    assert summary["best"]["weights"].endswith("round2/tracker.pt")
    assert summary["rounds"][-1]["round"] == "2 + proposal"
    assert (tmp_path / "out" / "unlabelled" / ".imported-1").read_text() == "a.MOV\n"  # name order
    steps.calls.clear()
    assert self_training.main(args) == 0
    assert steps.calls == []


def test_a_killed_step_is_redone_and_the_finished_ones_are_not(setup, monkeypatch):
    tmp_path, args = setup
    steps = Steps([0.80, 0.85, 0.87, 0.90], fail_on="train.py")
    monkeypatch.setattr(self_training, "run_step", steps)
    with pytest.raises(SystemExit, match="failed"):
        self_training.main(args)
    steps.calls.clear()
    assert self_training.main(args + ["--no-proposal"]) == 0
    assert steps.calls == ["train.py", "engine.bundle", "bench/calibration.py",
                           "tracking.pseudo_labels", "train.py", "engine.bundle", "bench/calibration.py"]


def test_a_round_that_does_not_help_stops_the_sequence(setup, monkeypatch, capsys):
    tmp_path, args = setup
    steps = Steps([0.85, 0.84])
    monkeypatch.setattr(self_training, "run_step", steps)
    assert self_training.main(args) == 0
    assert "round 1 did not beat its teacher" in capsys.readouterr().out
    assert steps.calls.count("train.py") == 1  # no proposal either: no round beat the first teacher
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["round"] == 0


def test_the_proposal_step_bundles_the_best_rounds_refiner(setup, monkeypatch):
    tmp_path, args = setup
    steps = Steps([0.80, 0.85, 0.87, 0.90])
    calls = []
    monkeypatch.setattr(self_training, "run_step", lambda title, a, cwd=None: calls.append(a) or steps(title, a))
    assert self_training.main(args) == 0
    proposal, bundle = calls[-3], calls[-2]
    assert proposal[:3] == ["train.py", "--stage", "proposal"]
    assert proposal[proposal.index("--extra-data") + 1].endswith("round2/data")
    assert bundle[bundle.index("--refine") + 1].endswith("round2/refine/last.pt")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["round"] == "2 + proposal"


def test_a_folder_without_videos_is_refused(setup, monkeypatch):
    tmp_path, args = setup
    for video in (tmp_path / "videos").iterdir():
        video.unlink()
    monkeypatch.setattr(self_training, "run_step", Steps([]))
    with pytest.raises(SystemExit, match="no video"):
        self_training.main(args)
