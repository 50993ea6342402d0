"""The reader thread that decodes frames while the networks run: order kept, errors raised where they happen,
an early stop ends the reader, and the track is the same with it as without."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from data_prep.clips import DataError, discover_clips, read_frame
from tracking.tracker import Tracker, read_ahead


def test_items_come_in_order_and_an_error_comes_where_it_happened():
    assert list(read_ahead(iter(range(100)), 4)) == list(range(100))

    def broken():
        yield from range(5)
        raise DataError("clip/0005.jpg", "corrupt JPEG data")

    got = []
    with pytest.raises(DataError, match="0005.jpg"):
        for item in read_ahead(broken(), 2):
            got.append(item)
    assert got == list(range(5))


def test_stopping_early_ends_the_reader():
    before = threading.active_count()
    frames = read_ahead(iter(range(10_000)), 3)
    assert next(frames) == 0
    frames.close()
    for thread in threading.enumerate():
        if thread.name == "frame-reader":
            thread.join(timeout=5)
    assert threading.active_count() <= before


def test_the_track_is_the_same_with_and_without_the_reader(tiny_runs, ball_data):
    frames = [read_frame(p) for p in discover_clips(ball_data, [3])[0].frames]
    plain = Tracker.load(tiny_runs["bundle"], read_ahead=0).track_frames(iter(frames)).track
    ahead = Tracker.load(tiny_runs["bundle"], read_ahead=4).track_frames(iter(frames)).track
    np.testing.assert_array_equal(plain.codes, ahead.codes)
    np.testing.assert_array_equal(plain.xy, ahead.xy)
