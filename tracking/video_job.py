"""Track a video file or a folder of numbered frames into an output folder: ``track.csv``, ``overlay.mp4`` and
``summary.json``. The work behind ``track.py`` (which parses and checks the arguments first) and
``bench/long_video.py``.

Frames are streamed: memory stays flat however long the video is. Any resolution works: frames are tracked at
1280 px wide and positions mapped back (mp4 encoders round odd sizes down, so the overlay of an odd-sized input
may be a pixel smaller).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from data_prep.clips import DataError, frame_paths, read_frame
from data_prep.video import iter_video_frames, stated_frame_count
from evaluation.predictions import Track, write_track
from evaluation.report import write_video
from evaluation.visualize import draw_track
from tracking.output import frame_progress
from tracking.rally import CourtWatch, draw_minimap, place_events, write_rally
from tracking.tracker import Tracker

log = logging.getLogger(__name__)
FOLDER_FPS = 30.0  # a frame folder carries no frame rate


def open_frames(source: Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """A fresh iterator over the RGB (H, W, 3) frames of a video file or a numbered frame folder."""
    if source.is_dir():
        return _folder_frames(frame_paths(source)[:max_frames])
    return iter_video_frames(source, max_frames)


def frame_total(source: Path, max_frames: int | None = None) -> int | None:
    """How many frames ``source`` holds as far as is known without decoding them (for progress bars)."""
    count = len(frame_paths(source)) if source.is_dir() else stated_frame_count(source)
    return min(count, max_frames) if count is not None and max_frames is not None else (count or max_frames)


def _folder_frames(paths: list[Path]) -> Iterator[np.ndarray]:
    size = None
    for path in paths:
        frame = read_frame(path)
        size = size or frame.shape
        if frame.shape != size:
            raise DataError(path, f"frame is {frame.shape[1]}x{frame.shape[0]}, the first frame is "
                                  f"{size[1]}x{size[0]}: one clip must keep one frame size")
        yield frame


def video_fps(source: Path) -> float:
    """The video's frame rate as its container states it (25, 29.97, 59.94, 120 ...); 30 for a frame folder."""
    if source.is_dir():
        return FOLDER_FPS
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    if fps and 1 <= fps <= 1000:
        return fps
    log.warning("%s: the video states no usable frame rate (%s); writing the overlay at %g fps", source, fps,
                FOLDER_FPS)
    return FOLDER_FPS


def track_live(tracker: Tracker, frames, lag: int, out: Path, total: int | None = None) -> Track:
    """Decide frames with a fixed lag, appending each row to ``track.csv.part`` as soon as it is final."""
    codes, positions = [], []
    with open(out / "track.csv.part", "w") as rows:
        rows.write("frame,code,x,y\n")
        for frame, code, xy in tracker.track_live(frames, lag, total=total):
            rows.write(f"{frame},{code},{xy[0]:.2f},{xy[1]:.2f}\n")
            rows.flush()
            codes.append(code)
            positions.append(xy)
    (out / "track.csv.part").unlink()
    return Track(np.array(codes, np.int64), np.array(positions, np.float64).reshape(-1, 2))


def track_source(tracker: Tracker, source: Path, out: Path, *, max_frames: int | None = None, live: int | None = None,
                 overlay: bool = True, fps: float | None = None,
                 watch: Callable[[Iterator[np.ndarray], str], Iterator[np.ndarray]] | None = None,
                 court: bool = True, events: list[str] | None = None) -> dict:
    """Track a video or frame folder into ``out`` (track.csv, overlay.mp4, summary.json); returns the summary.

    ``watch(frames, phase)`` may wrap each pass over the frames (phase ``track``, then ``overlay``), e.g. to
    sample memory along the way (``bench/long_video.py``). A terminal shows a progress bar for each pass.
    With ``court`` the court is found once per camera shot during the tracking pass (tracking.rally) and
    ``rally.json`` / ``rally.csv`` written, ``events`` (one of ``''``, ``'hit'``, ``'bounce'`` a frame) placed on it.
    """
    watch = watch or (lambda frames, phase: frames)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    total = frame_total(source, max_frames)
    frames = watch(open_frames(source, max_frames), "track")
    courts = CourtWatch() if court else None
    frames = courts.watch(frames) if courts else frames
    track = (track_live(tracker, frames, live, out, total) if live is not None else
             tracker.track_frames(frames, total=total, desc=f"tracking {source.name}").track)
    seconds = time.perf_counter() - started
    write_track(out / "track.csv", track)
    fps = fps or video_fps(source)
    placed = place_events(events or [], track.xy, courts) if courts else []
    if courts:
        write_rally(out, placed, courts, fps)
    if overlay:  # a second pass over the frames tracked (a video cut short ends at the same frame)
        frames = frame_progress(watch(open_frames(source, len(track)), "overlay"), len(track), "overlay video")
        drawn = draw_track(frames, track)
        write_video(out / "overlay.mp4", draw_minimap(drawn, placed, courts) if courts else drawn, fps=fps)
    summary = {"source": str(source), "frames": len(track), "frames_with_ball": int((track.codes > 0).sum()),
               "video_fps": round(fps, 3), "seconds": round(seconds, 2), "fps": round(len(track) / seconds, 1),
               "out": str(out), **({"frames_without_court": int((~courts.has_court()).sum())} if courts else {})}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
