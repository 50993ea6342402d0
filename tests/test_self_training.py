"""The self-training sequence: every step runs once, a rerun after a kill goes on where it stopped, and a round
that does not beat its teacher stops the sequence. The steps themselves (import, pseudo-labels, training, bundle,
held-out score) are tested where they live; here they are replaced by stand-ins that leave the same results."""
import json

import pytest

import cli.self_training as self_training


class Steps:
    """Stand-ins for the steps: record each call and leave the files the real step leaves."""

    def __init__(self, scores, fail_on=None):
        self.calls, self.scores, self.fail_on = [], list(scores), fail_on

    def __call__(self, title, step, *args, **kwargs):
        kind = step.__name__
        self.calls.append(kind)
        if kind == self.fail_on:
            self.fail_on = None
            raise SystemExit(f"error: step '{title}' failed")
        if kind == "import_video":
            src, out, game = args
            clip = out / f"game{game}" / "clip1"
            clip.mkdir(parents=True, exist_ok=True)
            (clip / "0000.jpg").write_bytes(b"jpeg")
        if kind == "pseudo_label":
            return "29 clips: 10 balls, 0 no ball, 2 ignored of 12 frames (83% kept)"
        if kind == "ensure_trained":
            run = args[0]
            run.mkdir(parents=True, exist_ok=True)
            (run / "config.json").write_text("{}")
            (run / "summary.json").write_text("{}")
        if kind == "bundle":
            args[0].write_bytes(b"bundle")
        if kind == "held_out":
            return {"sibatracc_calibrated": self.scores.pop(0)}
        return None


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
    round_steps = ["ensure_trained", "bundle", "held_out"]
    assert steps.calls == ["import_video"] * 2 + ["held_out"] + (
        ["pseudo_label"] + round_steps) * 2 + round_steps  # the last three: the proposal
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
    steps = Steps([0.80, 0.85, 0.87, 0.90], fail_on="ensure_trained")
    monkeypatch.setattr(self_training, "run_step", steps)
    with pytest.raises(SystemExit, match="failed"):
        self_training.main(args)
    steps.calls.clear()
    assert self_training.main(args + ["--no-proposal"]) == 0
    assert steps.calls == ["ensure_trained", "bundle", "held_out",
                           "pseudo_label", "ensure_trained", "bundle", "held_out"]


def test_a_round_that_does_not_help_stops_the_sequence(setup, monkeypatch, capsys):
    tmp_path, args = setup
    steps = Steps([0.85, 0.84])
    monkeypatch.setattr(self_training, "run_step", steps)
    assert self_training.main(args) == 0
    assert "round 1 did not beat its teacher" in capsys.readouterr().out
    assert steps.calls.count("ensure_trained") == 1  # no proposal either: no round beat the first teacher
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["round"] == 0


def test_the_proposal_step_bundles_the_best_rounds_refiner(setup, monkeypatch):
    tmp_path, args = setup
    steps = Steps([0.80, 0.85, 0.87, 0.90])
    calls = []
    monkeypatch.setattr(self_training, "run_step",
                        lambda title, step, *a, **k: calls.append(a) or steps(title, step, *a, **k))
    assert self_training.main(args) == 0
    (run, stage, cfg), (_, _, refiner, _, _) = calls[-3], calls[-2]
    assert stage == "proposal" and str(cfg.extra_data[0]).endswith("round2/data")
    assert str(refiner).endswith("round2/refine/last.pt")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["round"] == "2 + proposal"


def test_a_folder_without_videos_is_refused(setup, monkeypatch):
    tmp_path, args = setup
    for video in (tmp_path / "videos").iterdir():
        video.unlink()
    monkeypatch.setattr(self_training, "run_step", Steps([]))
    with pytest.raises(SystemExit, match="no video"):
        self_training.main(args)


def test_a_step_failing_on_bad_input_stops_the_sequence_naming_it():
    def broken_import():
        raise self_training.DataError(self_training.Path("a.mp4"), "cannot open video")

    with pytest.raises(SystemExit, match="step 'import a.mp4' failed: a.mp4: cannot open video; fix it and rerun"):
        self_training.run_step("import a.mp4", broken_import)
