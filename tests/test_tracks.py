"""The one reader of ``frame,code,x,y`` track files (track.csv, evaluate.py's predictions, the event detector's and
Label Studio's input)."""
from __future__ import annotations

import pytest

from data_prep.clips import DataError
from data_prep.tracks import read_track_file


def write(path, text):
    path.write_text(text)
    return path


def test_columns_are_found_by_name_and_blank_positions_are_minus_one(tmp_path):
    track = read_track_file(write(tmp_path / "t.csv", "time_s,Frame,code,x,y,event\n0.1,3,1,10.5,20,hit\n\n"
                                                      "0.2,5,0,,,\n"))
    assert track.frames.tolist() == [3, 5] and track.codes.tolist() == [1, 0]
    assert track.xy.tolist() == [[10.5, 20.0], [-1.0, -1.0]]
    assert track.column("event") == ["hit", ""] and track.column("confidence") == []
    assert track.lines == [2, 4] and track.rows[1] == ["0.2", "5", "0", "", "", ""]
    with pytest.raises(DataError, match=r"t.csv:4: frame '5' where 4 was expected"):
        track.require_frames_from(3)


@pytest.mark.parametrize("body, message", [
    ("0,1,1,1\n0,1,1,1\n", "t.csv:3: duplicate frame 0"),
    ("1,1,1,1\n0,1,1,1\n", "t.csv:3: unsorted frame 0"),
    ("0,4,1,1\n", "t.csv:2: code '4' is not 0, 1, 2 or 3"),
    ("0,1,inf,1\n", "t.csv:2: x is not finite"),
    ("0.5,1,1,1\n", "t.csv:2: frame '0.5' is not a frame number"),
    ("0,1,a,1\n", "t.csv:2: x is not a number"),
])
def test_bad_rows_name_the_line(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        read_track_file(write(tmp_path / "t.csv", "frame,code,x,y\n" + body))


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(DataError, match="t.csv:1: missing column"):
        read_track_file(write(tmp_path / "t.csv", "frame,code,x\n0,1,1\n"))
