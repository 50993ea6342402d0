"""Track a video file or a folder of numbered frames into an output folder: ``track.csv``, ``overlay.mp4`` and
``summary.json``. The work behind ``track.py`` (which parses and checks the arguments first) and
``bench/long_video.py``.

Frames are streamed: memory stays flat however long the video is. Any resolution works: frames are tracked at
1280 px wide and positions mapped back (mp4 encoders round odd sizes down, so the overlay of an odd-sized input
may be a pixel smaller).
"""
from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from data_prep.atomic import write_text_atomic
from data_prep.clips import IMAGE_SUFFIXES, DataError, frame_paths, read_frame
from data_prep.events import EVENT_NAMES, EventTrack
from data_prep.importers import VIDEO_SUFFIXES
from data_prep.paths import FOLDER_FPS
from data_prep.video import iter_video_frames, stated_frame_count, video_fps
from evaluation.predictions import Track, write_track
from evaluation.report import write_video
from evaluation.visualize import draw_events, draw_track
from tracking.events import EventDetector
from tracking.output import frame_progress
from tracking.rally import CourtWatch, draw_minimap, no_ball_off_court, place_events, write_rally
from tracking.tracker import Tracker

log = logging.getLogger(__name__)


def open_frames(source: Path, max_frames: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
    """A fresh iterator over the RGB (H, W, 3) frames of a video file or a numbered frame folder, from frame
    ``start`` on."""
    if source.is_dir():
        paths = frame_paths(source)
        if start >= len(paths):
            raise DataError(source, f"the folder holds {len(paths)} frames, none from the start frame {start} on")
        return _folder_frames(paths[start:start + max_frames if max_frames else None])
    return iter_video_frames(source, max_frames, start)


def frame_total(source: Path, max_frames: int | None = None, start: int = 0) -> int | None:
    """How many frames ``source`` holds as far as is known without decoding them (for progress bars)."""
    count = len(frame_paths(source)) if source.is_dir() else stated_frame_count(source)
    count = max(count - start, 0) if count is not None else None
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


def track_live(tracker: Tracker, frames, lag: int, out: Path, total: int | None = None, first: int = 0) -> Track:
    """Decide frames with a fixed lag, appending each row to ``track.csv.part`` as soon as it is final (``first``:
    the source's frame number of the first frame)."""
    codes, positions = [], []
    with open(out / "track.csv.part", "w") as rows:
        rows.write("frame,code,x,y\n")
        for frame, code, xy in tracker.track_live(frames, lag, total=total):
            rows.write(f"{first + frame},{code},{xy[0]:.2f},{xy[1]:.2f}\n")
            rows.flush()
            codes.append(code)
            positions.append(xy)
    (out / "track.csv.part").unlink()
    return Track(np.array(codes, np.int64), np.array(positions, np.float64).reshape(-1, 2))


def track_source(tracker: Tracker, source: Path, out: Path, *, max_frames: int | None = None, live: int | None = None,
                 overlay: bool = True, fps: float | None = None, start: float = 0.0, end: float | None = None,
                 watch: Callable[[Iterator[np.ndarray], str], Iterator[np.ndarray]] | None = None,
                 events: bool = True, court: bool = True) -> dict:
    """Track a video or frame folder into ``out`` (track.csv, overlay.mp4, summary.json, and rally.json /
    rally.csv: the hits and bounces of :mod:`tracking.events`, placed on the court); returns the summary.

    ``watch(frames, phase)`` may wrap each pass over the frames (phase ``track``, then ``overlay``), e.g. to
    sample memory along the way (``bench/long_video.py``). A terminal shows a progress bar for each pass.
    ``start`` / ``end``: the time range to track, in seconds of the video (a frame folder: at ``fps``, default 30);
    track.csv keeps the video's frame numbers. With ``court`` the court is found once per camera shot during the
    tracking pass (:mod:`tracking.rally`): bounces get positions in metres and in / out calls, the overlay a
    mini-map, and frames of a shot without a court view (a close-up, the crowd, graphics) report no ball: the
    networks run there too, but what they see is not the ball in play (``--live`` only lists them).
    """
    watch = watch or (lambda frames, phase: frames)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rate = (fps or FOLDER_FPS) if source.is_dir() else video_fps(source)  # the source's own: times, events
    first, max_frames = frame_range(rate, start, end, max_frames)
    total = frame_total(source, max_frames, first)
    size: list[tuple[int, int]] = []  # the frames' (width, height), seen as they pass
    frames = _note_size(watch(open_frames(source, max_frames, first), "track"), size)
    courts = CourtWatch() if court else None
    frames = courts.watch(frames) if courts else frames
    confidence = None
    if live is not None:
        track = track_live(tracker, frames, live, out, total, first)
    else:
        output = tracker.track_frames(frames, total=total, desc=f"tracking {source.name}")
        track, confidence = output.track, output.confidence
        if courts:
            track, confidence = no_ball_off_court(track, confidence, courts.has_court())
    seconds = time.perf_counter() - started
    found = detect_events(track, size[0] if size else (1280, 720), rate) if events else None
    write_track(out / "track.csv", track, track_columns(track, rate, confidence, found, first), first)
    placed = place_events([EVENT_NAMES[int(e)] for e in found] if found is not None else [], track.xy, courts)
    write_rally(out, placed, courts, rate, first)
    fps = fps or rate  # the overlay's: --fps may slow a video down or speed it up
    if overlay:  # a second pass over the frames tracked (a video cut short ends at the same frame)
        frames = frame_progress(watch(open_frames(source, len(track), first), "overlay"), len(track), "overlay video")
        drawn = draw_track(frames, track)
        drawn = draw_events(drawn, track.xy, found, fps) if found is not None else drawn  # a second of playback
        write_video(out / "overlay.mp4", draw_minimap(drawn, placed, courts) if courts else drawn, fps=fps)
    summary = {"source": str(source), "frames": len(track), "frames_with_ball": int((track.codes > 0).sum()),
               "video_fps": round(rate, 3), "seconds": round(seconds, 2), "fps": round(len(track) / seconds, 1),
               "out": str(out), **({"start_frame": first} if first else {})}
    if found is not None:
        summary.update(hits=int((found == 1).sum()), bounces=int((found == 2).sum()))
    if courts:
        summary["frames_without_court"] = int((~courts.has_court()).sum())
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1))
    return summary


def _note_size(frames: Iterator[np.ndarray], size: list) -> Iterator[np.ndarray]:
    for frame in frames:
        if not size:
            size.append((frame.shape[1], frame.shape[0]))
        yield frame


@functools.cache
def _shipped_events() -> EventDetector | None:
    """The shipped event detector, loaded (and its weights checked) once per process: an archive tracks many videos."""
    return EventDetector.shipped()


def detect_events(track: Track, size: tuple[int, int], fps: float) -> np.ndarray | None:
    """(n,) hits (1) and bounces (2) on the track by the shipped detector; None (warned) without its weights."""
    detector = _shipped_events()
    if detector is None:
        return None
    return detector.detect(EventTrack("track", 0, track.xy, track.codes > 0, np.full(len(track), -1), size, fps))


def track_columns(track: Track, fps: float, confidence: np.ndarray | None, events: np.ndarray | None,
                  first: int = 0) -> dict:
    """track.csv's columns after ``frame,code,x,y``: ``time_s``, ``confidence`` (blank where the tracker gives
    none: ``--live``, the baseline) and ``event`` (``''``, ``hit``, ``bounce``; blank without the detector)."""
    n = len(track)
    return {"time_s": [f"{(first + i) / fps:.3f}" for i in range(n)],
            "confidence": [f"{c:.3f}" for c in confidence] if confidence is not None else [""] * n,
            "event": [EVENT_NAMES[int(e)] for e in events] if events is not None else [""] * n}


def frame_range(rate: float, start: float, end: float | None, max_frames: int | None) -> tuple[int, int | None]:
    """(first frame, most frames) of the ``start`` .. ``end`` seconds of a source of ``rate`` frames a second."""
    if not start and end is None:
        return 0, max_frames
    first = int(round(start * rate))
    if end is not None:
        count = max(int(round(end * rate)) - first, 1)
        max_frames = min(count, max_frames) if max_frames else count
    return first, max_frames


def archive_videos(folder: Path) -> list[Path] | None:
    """The videos of a folder of videos, sorted by name; None for a folder of numbered frames (or an empty one)."""
    files = [p for p in folder.iterdir() if p.is_file()]
    if any(p.suffix.lower() in IMAGE_SUFFIXES and p.stem.isdigit() for p in files):
        return None
    return sorted(p for p in files if p.suffix.lower() in VIDEO_SUFFIXES) or None


def track_archive(tracker: Tracker, sources: list[Path], out: Path, **options) -> list[dict]:
    """Track each source into ``out/<its name>``; returns one summary per source with its ``status``.

    A source whose folder already holds a ``summary.json`` for the same source and options (written last, so only
    by a run that finished) is skipped: rerunning an interrupted archive resumes it. A source that fails (corrupt,
    unreadable) is logged and reported with status ``error: ...``; the others are still tracked.
    """
    rows, names = [], set()
    for source in sources:
        name = source.stem if source.is_file() else source.name
        while name in names:  # match.mp4 and match.mkv, or two folders of one name
            name += "_"
        names.add(name)
        folder = out / name
        wanted = {"source": str(source), "options": _options_key(options)}
        done = folder / "summary.json"
        if done.is_file():
            try:
                summary = json.loads(done.read_text())
            except (OSError, ValueError):  # unreadable: tracked again
                summary = {}
            if {k: summary.get(k) for k in wanted} == wanted:
                rows.append({**summary, "status": "done before"})
                continue
        try:
            summary = {**track_source(tracker, source, folder, **options), **wanted}
            write_text_atomic(done, json.dumps(summary, indent=1))  # with the options it was tracked with
            rows.append({**summary, "status": "tracked"})
        except (DataError, OSError) as error:
            log.error("%s", error)
            rows.append({"source": str(source), "out": str(folder), "status": f"error: {error}"})
    return rows


def _options_key(options: dict) -> dict:
    return {k: options.get(k) for k in ("max_frames", "live", "start", "end", "court", "overlay", "fps")}
