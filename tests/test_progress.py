"""Progress bars of long tracking calls: per frame with frames/s and ETA on a terminal, silent otherwise."""
from __future__ import annotations

import io

import numpy as np

from data_prep.clips import discover_clips
from tracking.output import frame_progress
from tracking.tracker import Tracker


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_per_frame_bar_with_rate_and_eta(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    frames = [np.zeros((4, 4, 3), np.uint8)] * 5
    assert len(list(frame_progress(frames, total=5, desc="clip"))) == 5
    text = screen.getvalue()
    assert "clip" in text and "/5 [" in text and "frame/s" in text  # redrawn at most every 0.1 s, cleared at the end


def test_piped_output_gets_no_bar(monkeypatch):
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    assert len(list(frame_progress(iter([np.zeros((4, 4, 3), np.uint8)] * 5), total=5))) == 5
    assert piped.getvalue() == ""


def test_tracking_a_clip_shows_its_frames(tiny_runs, ball_data, monkeypatch):
    clip = discover_clips(ball_data, [3])[0]
    tracker = Tracker.load(tiny_runs["bundle"])
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    track = tracker.track_clip(clip)
    assert len(track) == len(clip)
    assert f"/{len(clip)} [" in screen.getvalue() and clip.name in screen.getvalue()
