"""The labelled-video importer (mp4 + per-frame csv) and the failure breakdown's arithmetic."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli.importers import main
from data_prep.clips import DataError, discover_clips
from data_prep.importers import import_labelled_video
from evaluation.breakdown import ClipFrames, failure_breakdown

SIZE = (64, 48)
HEADER = ["frame", "visibility", "x-coordinate", "y-coordinate", "status"]


def write_video(path: Path, n: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for i in range(n):
        writer.write(np.full((SIZE[1], SIZE[0], 3), 20 * i % 256, np.uint8))
    writer.release()
    return path


def write_rows(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def test_blank_rows_cut_and_matches_grouped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write_video(src / "game5_clip1.mp4", 6)
    write_rows(src / "game5_clip1.csv", [[0, "", "", "", ""], [1, 1, 10, 20, 0], [2, 2, 11, 21, 1],
                                         [3, "", "", "", ""], [4, 0, "", "", ""], [5, 3, 12, 22, ""]])
    write_video(src / "game8_clip2.mp4", 3)
    write_rows(src / "game8_clip2.csv", [[i, 1, 30 + i, 40, 0] for i in range(3)])
    written = import_labelled_video(src, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "game1/clip1", "game1/clip2", "game2/clip1"]
    clips = discover_clips(tmp_path / "out")
    assert [len(c) for c in clips] == [2, 2, 3]
    assert clips[0].labels.codes.tolist() == [1, 2] and clips[0].labels.xy.tolist() == [[10, 20], [11, 21]]
    assert clips[1].labels.codes.tolist() == [0, 3] and clips[1].labels.xy[1].tolist() == [12, 22]
    grey = [int(f.mean()) for f in clips[1].iter_frames()]  # frames 4 and 5 of the video
    assert abs(grey[0] - 80) < 8 and abs(grey[1] - 100) < 8
    sources = (tmp_path / "out" / "sources.csv").read_text().splitlines()
    assert sources[1:] == ["1,1,game5_clip1.mp4,1,2", "1,2,game5_clip1.mp4,4,2", "2,1,game8_clip2.mp4,0,3"]


@pytest.mark.parametrize("rows, line, match", [
    ([[0, 1, 10, 20, 0]] * 1 + [[1, 1, 10, 20, 0]], 3, "2 label rows but .* decodes 3 frames"),
    ([[0, 1, 10, 20, 0], [1, 5, 10, 20, 0], [2, 1, 1, 1, 0]], 3, "visibility '5'"),
    ([[0, 1, 10, 20, 0], [1, 1, 64, 20, 0], [2, 1, 1, 1, 0]], 3, r"off the 64x48 frame"),
    ([[0, 1, 10, 20, 0], [2, 1, 10, 20, 0], [2, 1, 1, 1, 0]], 3, "frame '2' where 1 was expected"),
    ([[0, 1, "", "", 0], [1, 1, 10, 20, 0], [2, 1, 1, 1, 0]], 2, "blank x/y"),
])
def test_bad_csv_names_file_and_line(tmp_path, rows, line, match):
    video = write_video(tmp_path / "v.mp4", 3)
    write_rows(tmp_path / "v.csv", rows)
    with pytest.raises(DataError, match=match) as error:
        import_labelled_video(video, tmp_path / "out")
    assert error.value.path == tmp_path / "v.csv" and error.value.line == line
    assert not (tmp_path / "out" / "game1").exists()


def test_x_and_y_are_read_by_their_header_names(tmp_path):
    video = write_video(tmp_path / "v.mp4", 2)
    with open(tmp_path / "v.csv", "w", newline="") as f:
        csv.writer(f).writerows([["frame", "visibility", "y-coordinate", "x-coordinate"], [0, 1, 20, 10], [1, 0]])
    (clip,) = import_labelled_video(video, tmp_path / "out")
    assert discover_clips(tmp_path / "out")[0].labels.xy.tolist() == [[10, 20], [-1, -1]]


def test_cli_reports_error(tmp_path, capsys):
    write_video(tmp_path / "v.mp4", 2)
    write_rows(tmp_path / "v.csv", [[0, 1, 10, 20, 0]])
    assert main(["labelled-video", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "out")]) == 1
    assert "v.csv:2: 1 label rows but v.mp4 decodes 2 frames" in capsys.readouterr().err


def test_breakdown_arithmetic():
    # 100x100 frame; balls at y 10 (far) in frames 0-3 and y 90 (near) in 4-5; frame 6 has no ball.
    gt_codes = np.array([1, 1, 3, 1, 1, 1, 0])
    gt_xy = np.array([[10, 10], [50, 10], [90, 10], [50, 11], [10, 90], [90, 90], [-1, -1]], float)
    pred_codes = np.array([1, 0, 3, 1, 1, 1, 1])
    pred_xy = np.array([[12, 10], [-1, -1], [90, 26], [50, 11], [10, 90], [90, 90], [400, 400]], float)
    b = failure_breakdown([ClipFrames(gt_codes, gt_xy, pred_codes, pred_xy, (100, 100))], tolerance=8, margin=10)
    # far frames 0-3: errors 0, 5 (missed), floor(16/8)**1.5 = 2.83, 0 -> 1 - 7.83 / 20
    assert b["far"]["frames"] == 4 and b["far"]["sibatracc"] == pytest.approx(1 - (5 + 2 ** 1.5) / 20)
    assert b["far"]["recall"] == pytest.approx(2 / 3) and b["far"]["missed"] == 1 and b["far"]["wrong_place"] == 1
    assert b["near"] == {"frames": 2, "sibatracc": 1.0, "recall": 1.0, "missed": 0, "wrong_place": 0}
    assert b["occluded"]["frames"] == 1 and b["occluded"]["wrong_place"] == 1
    # false positives: frame 2 (16 px off, inside the balls' hull) on court, frame 6 at (400, 400) off court
    assert b["false_positives"]["on_court"] == 1 and b["false_positives"]["off_court"] == 1
    assert b["false_positives"]["off_court_per_1000_frames"] == pytest.approx(1000 / 7)
    assert b["filled"] == {"frames": 1, "on_ball_frames": 1, "mean_error_px": 16.0, "on_absent_frames": 0}


def test_real_tennis_import(shared_data, tmp_path):
    source = shared_data / "tennis_labelled"
    if not source.is_dir():
        pytest.skip("no tennis_labelled in the shared data")
    import_labelled_video(source, tmp_path / "real")
    clips = discover_clips(tmp_path / "real")
    assert sorted({c.game for c in clips}) == [1, 2, 3]
    assert sum(len(c) for c in clips) == 573 and all(c.size == (1280, 720) for c in clips)
