"""evaluate.py --predictions scores a folder with known errors to exactly the hand-computed SiBaTrAcc."""
import errno
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import evaluate
from data_prep.clips import Labels, write_labels
from evaluation.predictions import Track, write_track
from tests.test_metrics import ERRORS_A, GT_A_CODES, GT_A_XY, PRED_A_CODES, PRED_A_XY


def write_clip(folder, codes, xy, size=(160, 90)):
    folder.mkdir(parents=True)
    names = [f"{i:04d}.jpg" for i in range(len(codes))]
    for name in names:
        cv2.imwrite(str(folder / name), np.full((size[1], size[0], 3), 90, np.uint8))
    write_labels(folder / "labels.csv", Labels(np.array(codes), np.array(xy, float), np.full(len(codes), -1)), names)


def test_scores_saved_predictions_exactly(tmp_path, capsys):
    data, preds = tmp_path / "data", tmp_path / "preds"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_clip(data / "game2" / "clip1", [0] * 4, [(-1, -1)] * 4)
    write_clip(data / "game3" / "clip1", [1] * 3, [(5, 5)] * 3)  # not asked for: must not be scored
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    write_track(preds / "game2_clip1.csv", Track(np.array([0, 1, 0, 0]), np.array([(-1, -1), (5, 5)] + [(-1, -1)] * 2,
                                                                                 float)))
    out = tmp_path / "out"
    score = evaluate.main(["--data", str(data), "--games", "1", "2", "--predictions", str(preds), "--out", str(out)])

    expected = ((1 - sum(ERRORS_A) / 40) + 0.75) / 2
    assert score == pytest.approx(expected)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"SiBaTrAcc: {expected:.4f}"
    assert sum("game" in line and "SiBaTrAcc" in line for line in lines) == 2
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["sibatracc"] == pytest.approx(expected)
    assert [c["clip"] for c in report["clips"]] == ["game1_clip1", "game2_clip1"]
    np.testing.assert_allclose(report["clips"][0]["frame_errors"], ERRORS_A, atol=1e-4)
    assert report["clips"][0]["tp"] == 2 and report["clips"][1]["fp2"] == 1


def test_prints_figures_at_tracknets_tolerance_beside_the_chosen_one(tmp_path, capsys):
    data, preds = tmp_path / "data", tmp_path / "preds"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    out = tmp_path / "out"
    evaluate.main(["--data", str(data), "--predictions", str(preds), "--out", str(out), "--tolerance", "5"])
    # d = 0 and 8 px: one hit within 5 px, two within 10; 17, 24, 15.9 px miss both; one ball missed, no invented one
    overall = json.loads((out / "report.json").read_text())["overall"]
    assert overall["precision"] == pytest.approx(1 / 5) and overall["recall"] == pytest.approx(1 / 2)
    assert overall["tracknet_tolerance_px"] == 10
    assert overall["tracknet_precision"] == pytest.approx(2 / 5) and overall["tracknet_recall"] == pytest.approx(2 / 3)
    line = [ln for ln in capsys.readouterr().out.splitlines() if "TrackNet's 10 px" in ln]
    assert line and "F1 0.286 at 5 px" in line[0] and "F1 0.500 at TrackNet's 10 px" in line[0]


def test_missing_or_short_predictions_fail_loudly(tmp_path):
    data, preds = tmp_path / "data", tmp_path / "preds"
    write_clip(data / "game1" / "clip1", [0, 0, 0], [(-1, -1)] * 3)
    preds.mkdir()
    with pytest.raises(ValueError, match="game1_clip1.csv: predictions file is missing"):
        evaluate.main(["--data", str(data), "--predictions", str(preds), "--out", str(tmp_path / "o1")])
    write_track(preds / "game1_clip1.csv", Track(np.zeros(2, int), np.full((2, 2), -1.0)))
    with pytest.raises(ValueError, match="2 prediction rows for a clip of 3 frames"):
        evaluate.main(["--data", str(data), "--predictions", str(preds), "--out", str(tmp_path / "o2")])


def test_visualize_writes_overlay_video(tmp_path):
    data, preds = tmp_path / "data", tmp_path / "preds"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    out = tmp_path / "out"
    evaluate.main(["--data", str(data), "--predictions", str(preds), "--out", str(out), "--visualize"])
    video = cv2.VideoCapture(str(out / "videos" / "game1_clip1.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == len(GT_A_CODES)


def test_refuses_to_overwrite_the_predictions_it_scores(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(out / "predictions" / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    before = (out / "predictions" / "game1_clip1.csv").read_bytes()
    with pytest.raises(ValueError, match="overwrite the predictions"):
        evaluate.main(["--data", str(data), "--games", "1", "--predictions", str(out / "predictions"), "--out", str(out)])
    assert (out / "predictions" / "game1_clip1.csv").read_bytes() == before


def test_a_frame_of_another_size_is_named_before_any_run_folder_exists(tmp_path):
    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    cv2.imwrite(str(data / "game1" / "clip1" / "0003.jpg"), np.full((72, 128, 3), 90, np.uint8))
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    with pytest.raises(ValueError, match="0003.jpg"):
        evaluate.main(["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out)])
    assert not out.exists()


def test_a_second_evaluation_into_one_folder_replaces_the_first(tmp_path):
    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_clip(data / "game2" / "clip1", [0] * 4, [(-1, -1)] * 4)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    write_track(preds / "game2_clip1.csv", Track(np.zeros(4, int), np.full((4, 2), -1.0)))
    evaluate.main(["--data", str(data), "--games", "1", "2", "--predictions", str(preds), "--out", str(out),
                   "--visualize", "--wandb", "off"])
    assert (out / "predictions" / "game2_clip1.csv").exists() and (out / "videos").is_dir()
    evaluate.main(["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out),
                   "--wandb", "off"])
    assert sorted(p.name for p in (out / "predictions").iterdir()) == ["game1_clip1.csv"]
    assert not (out / "videos").exists()
    assert [c["clip"] for c in json.loads((out / "report.json").read_text())["clips"]] == ["game1_clip1"]


def test_a_folder_another_evaluation_writes_is_refused(tmp_path):
    from engine.runs import RunFolderBusy, run_folder_lock

    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    with run_folder_lock(out), pytest.raises(RunFolderBusy, match="in use"):
        evaluate.main(["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out)])


def test_unreadable_weights_leave_no_run_folder(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    weights = tmp_path / "broken.pt"
    weights.write_bytes(b"not a checkpoint")
    assert evaluate.cli(["--data", str(data), "--games", "1", "--weights", str(weights), "--out", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--data", "no/such/folder"], "no/such/folder: --data is not a folder"),
    (["--weights", "no/such/tracker.pt"], "no/such/tracker.pt: no such weights file"),
    (["--tolerance", "0"], "--tolerance: must be above 0 pixels"),
    (["--tolerance", "nan"], "--tolerance: must be above 0 pixels"),
    (["--games", "0"], "--games: game numbers start at 1"),
])
def test_bad_arguments_fail_before_the_libraries_load(args, message):
    """The check runs in a fresh interpreter: the error comes without torch, OpenCV or the tracker imported."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys, evaluate; status = evaluate.cli(sys.argv[1:]); "
            "print(status, sorted(m for m in ('torch', 'cv2', 'tracking.tracker') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert result.stdout.split("\n")[0] == "2 []", result.stdout + result.stderr
    assert f"error: {message}" in result.stderr


def test_a_folder_no_evaluation_wrote_is_refused_and_left_whole(tmp_path):
    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "run"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    (out / "media").mkdir(parents=True)  # a training run's folder
    for name in ("config.json", "log.jsonl", "summary.json", "best.pt"):
        (out / name).write_text(name)
    before = sorted(p.name for p in out.iterdir())
    assert evaluate.cli(["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir() if p.name != ".lock") == before
    assert (out / "config.json").read_text() == "config.json" and (out / "media").is_dir()


def test_a_rerun_removes_only_what_the_earlier_evaluation_wrote(tmp_path):
    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    args = ["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out), "--wandb", "off"]
    evaluate.main(args)
    (out / "notes.txt").write_text("mine")
    evaluate.main(args)
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_a_full_disk_or_a_read_only_out_is_one_error_line(fault, tmp_path, monkeypatch, capsys):
    data, preds, out = tmp_path / "data", tmp_path / "preds", tmp_path / "out"
    write_clip(data / "game1" / "clip1", GT_A_CODES, GT_A_XY)
    write_track(preds / "game1_clip1.csv", Track(np.array(PRED_A_CODES), np.array(PRED_A_XY, float)))
    if fault == "disk full":  # a write that fails after the file opened: the error names no file
        def fail(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(Path, "write_text", fail)
        expected = f"error: {out}: No space left on device"
    else:  # chmod does not stop root: a read-only file system it is
        def fail(self, *args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system", str(self))

        monkeypatch.setattr(Path, "mkdir", fail)
        expected = f"error: {out}: Read-only file system"
    assert evaluate.cli(["--data", str(data), "--games", "1", "--predictions", str(preds), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == expected


def test_the_options_the_demo_fills_in_default_as_the_flags_do():
    from cli.args import EvaluationOptions, parse_args

    assert parse_args([]) == EvaluationOptions()
