"""Data layer: both label formats, and a DataError naming the file (and label line) for every bad input."""
from __future__ import annotations

import dataclasses
import logging

import cv2
import numpy as np
import pytest

from data_prep.clips import (
    DataError,
    Labels,
    check_clip,
    check_stack_length,
    clip_problems,
    discover_clips,
    frame_paths,
    load_clip,
    read_frame,
    read_labels,
    write_labels,
)


def raises_data_error(call, path, line=None, match=None) -> DataError:
    """Run ``call``; it must raise DataError whose message starts with ``path[:line]:``."""
    with pytest.raises(DataError, match=match) as info:
        call()
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(info.value).startswith(where), str(info.value)
    assert info.value.line == line
    return info.value


# ------------------------------------------------------------------------------------------------ parsing

def test_assignment_labels_parse_to_floats(make_clip):
    clip_dir = make_clip(n=3, rows=[["0000.jpg", 1, 10, 20, ""], ["0001.jpg", 0, "", "", ""],
                                    ["0002.jpg", 2, 33, 44, 1]])
    clip = load_clip(clip_dir, 1, 1, require_labels=True)
    assert clip.size == (64, 48) and len(clip) == 3 and clip.name == "game1_clip1"
    np.testing.assert_array_equal(clip.labels.codes, [1, 0, 2])
    np.testing.assert_array_equal(clip.labels.xy, [[10, 20], [-1, -1], [33, 44]])
    np.testing.assert_array_equal(clip.labels.traj, [-1, -1, 1])
    np.testing.assert_array_equal(clip.labels.visible, [True, False, True])


def test_tracknet_labels_parse_to_floats(make_clip):
    rows = [["0000.jpg", 2, "31.5", "12.25", 2], ["0001.jpg", 0, "", "", 0], ["0002.jpg", 3, "628.0", "40.0", 1]]
    clip_dir = make_clip(n=3, size=(640, 48), rows=rows, tracknet=True)
    labels = load_clip(clip_dir, require_labels=True).labels
    np.testing.assert_array_equal(labels.codes, [2, 0, 3])
    np.testing.assert_allclose(labels.xy, [[31.5, 12.25], [-1, -1], [628.0, 40.0]])
    np.testing.assert_array_equal(labels.traj, [2, 0, 1])


def test_header_variants_and_blank_lines(make_clip):
    header = ["File name", "visibility", "x-coordinate", "y-coordinate", "status"]
    clip_dir = make_clip(n=2, rows=[["0000.jpg", 1, 5, 6, ""], [], ["0001.jpg", 0, "", "", ""]], header=header)
    labels = load_clip(clip_dir).labels
    np.testing.assert_array_equal(labels.xy, [[5, 6], [-1, -1]])


def test_x_and_y_are_read_by_their_header_names(make_clip, tmp_path):
    swapped = make_clip(n=2, rows=[["0000.jpg", 1, 6, 5, ""], ["0001.jpg", 0, "", "", ""]],
                        header=["file name", "code", "y", "x", "q"])
    np.testing.assert_array_equal(load_clip(swapped).labels.xy, [[5, 6], [-1, -1]])
    unnamed = make_clip("game1/clip2", n=1, rows=[["0000.jpg", 1, 6, 5, ""]], header=["file name", "code", "a", "b"])
    raises_data_error(lambda: load_clip(unnamed), unnamed / "labels.csv", 1, match="no x and y column")


def test_write_labels_round_trip(tmp_path):
    names = ["0000.jpg", "0001.jpg", "0002.jpg"]
    labels = Labels(np.array([1, 0, 3]), np.array([[1.23456, 2.5], [-1, -1], [63.9996, 0.0]]), np.array([0, -1, 2]))
    write_labels(tmp_path / "labels.csv", labels, names)  # 63.9996 must not round to 64, off the 64 px frame
    back = read_labels(tmp_path / "labels.csv", names, (64, 48))
    np.testing.assert_array_equal(back.codes, labels.codes)
    np.testing.assert_allclose(back.xy, labels.xy, atol=1e-3)
    assert back.xy[2, 0] < 64
    np.testing.assert_array_equal(back.traj, labels.traj)


def test_labels_scaled_keeps_absent_at_minus_one():
    labels = Labels(np.array([1, 0, 2]), np.array([[10.0, 20.0], [-1, -1], [3.0, 4.0]]), np.full(3, -1))
    half = labels.scaled(0.5)
    # Pixel centres sit at integers (OpenCV), so x -> (x + 0.5) * f - 0.5.
    np.testing.assert_allclose(half.xy, [[4.75, 9.75], [-1, -1], [1.25, 1.75]])
    np.testing.assert_array_equal(half.codes, labels.codes)
    np.testing.assert_allclose(half.scaled(2.0).xy, labels.xy)
    assert len(Labels.absent(4)) == 4 and (Labels.absent(4).xy == -1).all()


# ------------------------------------------------------------------------------------------------ bad frames

def _valid_jpeg() -> bytes:
    return cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()


@pytest.mark.parametrize("content, match", [
    (b"", "empty image"),
    (b"this is not an image at all", "truncated or corrupt"),
    (b"\xff\xd8" + b"\x00garbage" * 20 + b"\xff\xd9", "unreadable or corrupt"),
    ("truncated", "truncated or corrupt"),
], ids=["empty", "not-a-jpeg", "garbage-between-markers", "truncated"])
def test_bad_frame_names_the_file(tmp_path, content, match):
    path = tmp_path / "0000.jpg"
    path.write_bytes(_valid_jpeg()[: len(_valid_jpeg()) // 2] if content == "truncated" else content)
    raises_data_error(lambda: read_frame(path), path, match=match)


def _corrupt_middle(data: bytes, fill: bytes) -> bytes:
    """The JPEG with ``len(fill)`` bytes of its entropy-coded data overwritten: markers and size stay intact."""
    middle = len(data) // 2
    return data[:middle] + fill + data[middle + len(fill):]


@pytest.mark.parametrize("fill", [bytes(40), np.random.default_rng(1).integers(0, 255, 40, np.uint8).tobytes()],
                         ids=["zeros", "random"])
def test_jpeg_corrupt_in_the_middle_is_an_error(tmp_path, fill):
    path = tmp_path / "0000.jpg"
    path.write_bytes(_corrupt_middle(_valid_jpeg(), fill))
    assert cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR) is not None  # OpenCV takes the garbage
    raises_data_error(lambda: read_frame(path), path, match="corrupt JPEG data")


def test_a_jpeg_libjpeg_turbo_rejects_for_any_reason_is_an_error(tmp_path):
    path = tmp_path / "0000.jpg"
    path.write_bytes(_corrupt_middle(_valid_jpeg(), b"\xff\x59"))  # "Unsupported marker type 0x59"
    assert cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR) is not None  # OpenCV takes the garbage
    raises_data_error(lambda: read_frame(path), path, match="unreadable or corrupt JPEG: Unsupported marker type")


def test_intact_jpeg_decodes_like_opencv(tmp_path):
    path = tmp_path / "0000.jpg"
    path.write_bytes(_valid_jpeg())
    expected = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(read_frame(path), expected)


def test_corrupt_first_frame_fails_load_clip(make_clip):
    clip_dir = make_clip(n=3)
    (clip_dir / "0000.jpg").write_bytes(_valid_jpeg()[:300])
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "0000.jpg")


def test_missing_frame_in_numbering(make_clip):
    clip_dir = make_clip(n=5, rows=None)
    (clip_dir / "0002.jpg").unlink()
    raises_data_error(lambda: frame_paths(clip_dir), clip_dir, match="missing frame 0002")
    (clip_dir / "0003.jpg").unlink()
    raises_data_error(lambda: frame_paths(clip_dir), clip_dir, match=r"missing frame 0002 \.\. 0003")


def test_frames_not_starting_at_zero(make_clip):
    clip_dir = make_clip(n=3, rows=None)
    (clip_dir / "0000.jpg").unlink()
    raises_data_error(lambda: frame_paths(clip_dir), clip_dir, match="missing frame 0000")


def test_duplicate_frame_number(make_clip):
    clip_dir = make_clip(n=3, rows=None)
    (clip_dir / "1.jpg").write_bytes((clip_dir / "0001.jpg").read_bytes())
    with pytest.raises(DataError, match="appears twice"):
        frame_paths(clip_dir)


def test_empty_or_missing_clip_folder(tmp_path):
    (tmp_path / "clip1").mkdir()
    (tmp_path / "clip1" / "notes.txt").write_text("no frames here")
    raises_data_error(lambda: load_clip(tmp_path / "clip1"), tmp_path / "clip1", match="empty clip folder")
    raises_data_error(lambda: load_clip(tmp_path / "clip9"), tmp_path / "clip9", match="does not exist")


def test_an_empty_game_folder_is_an_error_not_a_game_dropped(make_clip, tmp_path):
    make_clip("game1/clip1")
    (tmp_path / "game2").mkdir()
    (tmp_path / "game3" / ".clip1-4194302-x1y2").mkdir(parents=True)  # all a killed import left
    raises_data_error(lambda: discover_clips(tmp_path, [1, 2]), tmp_path / "game2", match="no clip folder")
    raises_data_error(lambda: discover_clips(tmp_path, [3]), tmp_path / "game3",
                      match=r"no clip folder .*\.clip1-4194302-x1y2.* an import that did not finish")
    raises_data_error(lambda: discover_clips(tmp_path), tmp_path / "game2", match="no clip folder")


def test_check_stack_length(make_clip):
    clip = load_clip(make_clip(n=3))
    check_stack_length(clip, 3)
    raises_data_error(lambda: check_stack_length(clip, 5), clip.path, match="3 frames, shorter than the stack of 5")


def test_check_clip_passes_a_good_clip(make_clip):
    clip = load_clip(make_clip(n=4))
    check_clip(clip, stack=3)
    check_clip(clip, stack=3, decode=True)
    assert clip_problems([clip], stack=3) == []


def test_check_clip_finds_short_odd_sized_truncated_and_corrupt_frames(make_clip):
    clip = load_clip(make_clip(n=4))
    raises_data_error(lambda: check_clip(clip, stack=5), clip.path, match="shorter than the stack of 5")
    good = (clip.path / "0002.jpg").read_bytes()
    cv2.imwrite(str(clip.path / "0002.jpg"), np.zeros((50, 64, 3), np.uint8))
    raises_data_error(lambda: check_clip(clip), clip.path / "0002.jpg",
                      match="64x50 but the clip's first frame is 64x48")
    (clip.path / "0002.jpg").write_bytes(good[: len(good) // 2])
    raises_data_error(lambda: check_clip(clip), clip.path / "0002.jpg", match="no end-of-image marker")
    (clip.path / "0002.jpg").write_bytes(_corrupt_middle(_valid_jpeg(), bytes(40)))  # a busy frame: a long scan
    check_clip(clip)  # headers only: a corrupt middle needs the full decode
    raises_data_error(lambda: check_clip(clip, decode=True), clip.path / "0002.jpg", match="corrupt JPEG data")
    assert clip_problems([clip, clip], decode=True) == [str(pytest.raises(DataError, read_frame,
                                                                          clip.path / "0002.jpg").value)] * 2


def test_check_clip_labels_inside_the_frame(make_clip):
    clip = load_clip(make_clip(n=3))
    xy = clip.labels.xy.copy()
    xy[1] = 64, 20
    moved = dataclasses.replace(clip, labels=Labels(clip.labels.codes, xy, clip.labels.traj))
    raises_data_error(lambda: check_clip(moved), clip.path, match="label of frame 1")
    short = dataclasses.replace(clip, labels=Labels.absent(2))
    raises_data_error(lambda: check_clip(short), clip.path, match="2 labels for 3 frames")


# ------------------------------------------------------------------------------------------------ bad labels

def _rows(n=3):
    return [[f"{i:04d}.jpg", 1, 10 + i, 20, ""] for i in range(n)]


def _with(row_index, row, n=3):
    rows = _rows(n)
    rows[row_index] = row
    return rows


@pytest.mark.parametrize("rows, line, match", [
    (_with(1, ["0005.jpg", 1, 11, 20, ""]), 3, "row names '0005.jpg' but frame 1 is '0001.jpg'"),
    (_with(0, ["0000.jpg", 4, 10, 20, ""]), 2, "outside 0..3"),
    (_with(2, ["0002.jpg", -1, 10, 20, ""]), 4, "outside 0..3"),
    (_with(1, ["0001.jpg", "1.5", 10, 20, ""]), 3, "outside 0..3"),
    (_with(1, ["0001.jpg", "", 10, 20, ""]), 3, "code is not a number"),
    (_with(1, ["0001.jpg", "one", 10, 20, ""]), 3, "code is not a number"),
    (_with(2, ["0002.jpg", 1, 64.5, 20, ""]), 4, "outside the 64x48 frame"),
    (_with(0, ["0000.jpg", 2, 10, 48.1, ""]), 2, "outside the 64x48 frame"),
    (_with(1, ["0001.jpg", 3, -0.5, 20, ""]), 3, "outside the 64x48 frame"),
    (_with(1, ["0001.jpg", 1, 64, 20, ""]), 3, r"outside the 64x48 frame, x in \[0, 64\)"),
    (_with(2, ["0002.jpg", 1, 10, 48, ""]), 4, r"y in \[0, 48\)"),
    ([*_rows(2), ["0001.jpg", 1, 11, 20, ""], ["0002.jpg", 1, 12, 20, ""]], 4,
     "a second row for '0001.jpg' \\(the first is line 3\\)"),
    (_with(1, ["0001.jpg", 1, "", 20, ""]), 3, "blank x/y for a visible ball"),
    (_with(2, ["0002.jpg", 2, 10, "", ""]), 4, "blank x/y for a visible ball"),
    (_with(1, ["0001.jpg", 1, "ten", 20, ""]), 3, "x is not a number"),
    (_with(1, ["0001.jpg", 1, 10, "nan", ""]), 3, "y is not finite"),
    (_with(1, ["0001.jpg", 1, 10, 20, "bounce"]), 3, "trajectory pattern is not a number"),
], ids=["name", "code-4", "code-neg", "code-float", "code-blank", "code-word", "x-right", "y-below", "x-neg",
        "x-width", "y-height", "duplicate", "blank-x", "blank-y", "x-word", "y-nan", "traj-word"])
def test_bad_label_row_names_file_and_line(make_clip, rows, line, match):
    clip_dir = make_clip(n=3, rows=rows)
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "labels.csv", line, match)


def test_bad_tracknet_row_names_file_and_line(make_clip):
    rows = [["0000.jpg", 2, "31.0", "12.0", 0], ["0001.jpg", 2, "", "", 0]]
    clip_dir = make_clip(n=2, rows=rows, tracknet=True)
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "Label.csv", 3, "blank x/y")


@pytest.mark.parametrize("n_rows", [2, 4])
def test_row_count_not_matching_frames_names_file(make_clip, n_rows):
    clip_dir = make_clip(n=3, rows=_rows(n_rows))
    with pytest.raises(DataError, match=f"{n_rows} label rows for 3 frames") as info:
        load_clip(clip_dir)
    assert str(info.value).startswith(str(clip_dir / "labels.csv"))


def test_row_count_not_matching_frames_names_line(make_clip):
    clip_dir = make_clip(n=3, rows=_rows(4))
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "labels.csv", 5)


@pytest.mark.parametrize("header, match", [
    (["frame", "ball", "x", "y"], "unrecognised header"),
    (["file name", "code", "x"], "unrecognised header"),
])
def test_bad_header_is_line_one(make_clip, header, match):
    clip_dir = make_clip(n=3, header=header)
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "labels.csv", 1, match)


def test_empty_label_file(make_clip):
    clip_dir = make_clip(n=2, rows=None)
    (clip_dir / "labels.csv").write_text("")
    raises_data_error(lambda: load_clip(clip_dir), clip_dir / "labels.csv", 1, "empty label file")


def test_missing_labels_only_when_required(make_clip):
    clip_dir = make_clip(n=2, rows=None)
    assert load_clip(clip_dir).labels is None
    raises_data_error(lambda: load_clip(clip_dir, require_labels=True), clip_dir, match="no label file")


@pytest.mark.parametrize("content", [
    pytest.param(b"file name,code,x,y,q\n0000.jpg,inf,1,2,\n0001.jpg,0,,,\n", id="code-inf"),
    pytest.param(b"file name,code,x,y,q\n0000.jpg,1,1,2,1e300\n0001.jpg,0,,,\n", id="traj-huge"),
    pytest.param(b"file name,code,x,y,q\n0000.jpg,1,1,2,\xe9\n0001.jpg,0,,,\n", id="not-utf8"),
])
def test_odd_cells_raise_data_error(tmp_path, content):
    path = tmp_path / "labels.csv"
    path.write_bytes(content)
    raises_data_error(lambda: read_labels(path, ["0000.jpg", "0001.jpg"], (64, 48)), path, 2)


# ------------------------------------------------------------------------------------------------ discovery

def test_discover_sorts_numerically_and_accepts_capitals(make_clip, tmp_path):
    for rel in ["game2/clip2", "game10/clip1", "game2/Clip10", "game2/clip1", "game1/Clip1"]:
        make_clip(rel, n=2)
    (tmp_path / "game2" / "notes").mkdir()
    (tmp_path / "README.txt").write_text("not a game")
    clips = discover_clips(tmp_path)
    assert [(c.game, c.clip) for c in clips] == [(1, 1), (2, 1), (2, 2), (2, 10), (10, 1)]
    assert clips[0].path.name == "Clip1"
    assert [(c.game, c.clip) for c in discover_clips(tmp_path, games=[10, 1])] == [(1, 1), (10, 1)]
    raises_data_error(lambda: discover_clips(tmp_path, games=[3]), tmp_path, match=r"no folder for game\(s\) \[3\]")


def test_discover_skip_broken_logs_and_default_raises(make_clip, tmp_path, caplog):
    make_clip("game1/clip1", n=3)
    broken = make_clip("game1/clip2", n=3, rows=_with(1, ["0001.jpg", 7, 1, 1, ""]))
    make_clip("game2/clip1", n=3)
    raises_data_error(lambda: discover_clips(tmp_path), broken / "labels.csv", 3, "outside 0..3")
    with caplog.at_level(logging.WARNING, logger="data_prep.clips"):
        clips = discover_clips(tmp_path, skip_broken=True)
    assert [(c.game, c.clip) for c in clips] == [(1, 1), (2, 1)]
    assert any("skipping broken clip" in r.message and str(broken / "labels.csv") in r.message
               for r in caplog.records if r.levelno == logging.WARNING)


def test_discover_unlabelled_and_empty_roots(make_clip, tmp_path):
    make_clip("data/game1/clip1", n=2, rows=None)
    raises_data_error(lambda: discover_clips(tmp_path / "data"), tmp_path / "data" / "game1" / "clip1",
                      match="no label file")
    assert discover_clips(tmp_path / "data", require_labels=False)[0].labels is None
    (tmp_path / "empty").mkdir()
    raises_data_error(lambda: discover_clips(tmp_path / "empty"), tmp_path / "empty", match="no clips found")
    raises_data_error(lambda: discover_clips(tmp_path / "nowhere"), tmp_path / "nowhere", match="does not exist")


def test_discover_rejects_two_folders_with_one_clip_number(make_clip, tmp_path):
    make_clip("game1/clip1", n=2)
    make_clip("game1/Clip1", n=2)
    with pytest.raises(DataError):
        discover_clips(tmp_path)


def test_assignment_test_checks_every_clip_before_tracking(make_clip, tmp_path):
    from tracking.assignment import SuperTrackingModel

    make_clip("data/game1/clip1", n=3)
    bad = make_clip("data/game1/clip2", n=3)
    (bad / "0001.jpg").write_bytes((bad / "0001.jpg").read_bytes()[:100])
    model = SuperTrackingModel(batch_s=4, stack_s=3, out_path=tmp_path / "out", downscale=False)
    with pytest.raises(DataError, match=rf"bad clips:\n{bad / '0001.jpg'}: truncated"):
        model.test(tmp_path / "data", [1])
    assert not (tmp_path / "out").exists()  # nothing tracked


def test_splits_check_every_clip_before_training(make_clip, tmp_path, caplog):
    from data_prep.splits import resolve_splits

    make_clip("game1/clip1", n=5)
    short = make_clip("game1/clip2", n=2)  # shorter than a stack of 3: skipped for training, named
    make_clip("game2/clip1", n=5)
    with caplog.at_level(logging.WARNING, logger="data_prep.splits"):
        _, train, val = resolve_splits(tmp_path, [1], [2], stack=3)
    assert [c.name for c in train] == ["game1_clip1"] and [c.name for c in val] == ["game2_clip1"]
    assert any("skipping broken training clip" in r.message and str(short) in r.message for r in caplog.records)
    cv2.imwrite(str(tmp_path / "game2" / "clip1" / "0004.jpg"), np.zeros((30, 40, 3), np.uint8))  # odd size
    raises_data_error(lambda: resolve_splits(tmp_path, [1], [2], stack=3), tmp_path, match="0004.jpg")
