"""Run the tracker on your own video: an mp4 (any resolution or frame rate) or a folder of numbered frames.

    python track.py match.mp4                        # -> runs/track_N/track.csv and overlay.mp4
    python track.py frames/ --out out/ --weights my_tracker.pt --no-video
    python track.py match.mp4 --live 8            # fixed latency: each frame decided 8 frames later, never revised

Writes ``track.csv`` (``frame,code,x,y`` in the video's own pixels; x = y = -1 when no ball; one row per decoded
frame, so row i is frame i at the video's own frame rate) and an overlay video at the input's frame rate (``--fps``
for a frame folder, default 30) with the ball and its recent track. Frames are streamed: memory stays flat however
long the video is (``bench/long_video.py``). Any resolution works: frames are tracked at 1280 px wide and positions
mapped back (mp4 encoders round odd sizes down, so the overlay of an odd-sized input may be a pixel smaller).

Bad input stops with ``error: <file>: <message>`` and exit status 2: a missing, empty, unreadable or frameless
video, frames of changing size, corrupt frame files, unreadable weights. A video that stops decoding early (cut
short, damaged frame) is tracked up to its last good frame, with a warning giving the frame counts.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from data_prep.clips import DataError, frame_paths, read_frame
from data_prep.label_studio import export_track
from data_prep.video import iter_video_frames
from engine.runs import next_run_dir
from evaluation.predictions import Track, write_track
from evaluation.report import write_video
from evaluation.visualize import draw_track
from model.checkpoint import CheckpointError
from tracking.tracker import Tracker

log = logging.getLogger("track")
FOLDER_FPS = 30.0  # a frame folder carries no frame rate


def open_frames(source: Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """A fresh iterator over the RGB (H, W, 3) frames of a video file or a numbered frame folder."""
    if source.is_dir():
        return _folder_frames(frame_paths(source)[:max_frames])
    return iter_video_frames(source, max_frames)


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


def track_live(tracker: Tracker, frames, lag: int, out: Path) -> Track:
    """Decide frames with a fixed lag, appending each row to ``track.csv.part`` as soon as it is final."""
    codes, positions = [], []
    with open(out / "track.csv.part", "w") as rows:
        rows.write("frame,code,x,y\n")
        for frame, code, xy in tracker.track_live(frames, lag):
            rows.write(f"{frame},{code},{xy[0]:.2f},{xy[1]:.2f}\n")
            rows.flush()
            codes.append(code)
            positions.append(xy)
    (out / "track.csv.part").unlink()
    return Track(np.array(codes, np.int64), np.array(positions, np.float64).reshape(-1, 2))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="video file or folder of numbered frames (0000.jpg ...)")
    parser.add_argument("--out", type=Path, help="output folder; default runs/track_N")
    parser.add_argument("--weights", help="tracker bundle: file, Google Drive id or URL; default: shipped weights")
    parser.add_argument("--max-frames", type=int, help="track only the first N frames")
    parser.add_argument("--no-video", action="store_true", help="skip the overlay video")
    parser.add_argument("--fps", type=float, help="frame rate of the overlay; default: the video's own "
                        f"(a frame folder: {FOLDER_FPS:g})")
    parser.add_argument("--live", type=int, metavar="LAG", help="streaming decoder with a fixed lag of LAG frames "
                        "(small chunks; rows are appended to track.csv as frames are decided)")
    parser.add_argument("--ensemble", action="store_true", help="average each frame's proposal over the 3 stacks "
                        "that hold it: more balls found, about 3x the proposal's cost")
    parser.add_argument("--label-studio", type=Path, metavar="DIR",
                        help="also write DIR/tasks.json (the track as Label Studio pre-annotations) and DIR/config.xml "
                        "(a video file only; see docs/label_studio.md)")
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error("--max-frames must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.source.exists():
        raise DataError(args.source, "no such video file or frame folder")
    if args.label_studio and args.source.is_dir():
        parser.error("--label-studio needs a video file: Label Studio's video tasks play the video itself")

    tracker = Tracker.load(args.weights, **({"chunk": 6} if args.live is not None else {}),
                           **({"ensemble": True} if args.ensemble else {}))
    out = args.out or next_run_dir(prefix="track")
    summary = track_source(tracker, args.source, out, max_frames=args.max_frames, live=args.live,
                           overlay=not args.no_video, fps=args.fps)
    if args.label_studio:
        summary["label_studio"] = str(export_track(out / "track.csv", args.source, args.label_studio))
    print(json.dumps(summary))
    return summary


def track_source(tracker: Tracker, source: Path, out: Path, *, max_frames: int | None = None, live: int | None = None,
                 overlay: bool = True, fps: float | None = None,
                 watch: Callable[[Iterator[np.ndarray], str], Iterator[np.ndarray]] | None = None) -> dict:
    """Track a video or frame folder into ``out`` (track.csv, overlay.mp4, summary.json); returns the summary.

    ``watch(frames, phase)`` may wrap each pass over the frames (phase ``track``, then ``overlay``), e.g. to
    sample memory along the way (``bench/long_video.py``).
    """
    watch = watch or (lambda frames, phase: frames)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = watch(open_frames(source, max_frames), "track")
    track = track_live(tracker, frames, live, out) if live is not None else tracker.track_frames(frames).track
    seconds = time.perf_counter() - started
    write_track(out / "track.csv", track)
    fps = fps or video_fps(source)
    if overlay:  # a second pass over the frames tracked (a video cut short ends at the same frame)
        write_video(out / "overlay.mp4", draw_track(watch(open_frames(source, len(track)), "overlay"), track),
                    fps=fps)
    summary = {"source": str(source), "frames": len(track), "frames_with_ball": int((track.codes > 0).sum()),
               "video_fps": round(fps, 3), "seconds": round(seconds, 2), "fps": round(len(track) / seconds, 1),
               "out": str(out)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def cli(argv=None) -> int:
    """The command line: bad input prints ``error: <file>: <message>`` (no traceback) and exits with status 2."""
    try:
        main(argv)
    except (DataError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
