"""Run the tracker on your own video: an mp4 (any resolution or frame rate) or a folder of numbered frames.

    python track.py match.mp4                        # -> runs/track_N/track.csv and overlay.mp4
    python track.py frames/ --out out/ --weights my_tracker.pt --no-video
    python track.py match.mp4 --live 8            # fixed latency: each frame decided 8 frames later, never revised

Writes ``track.csv`` (``frame,code,x,y`` in the video's own pixels; x = y = -1 when no ball) and an overlay video
with the ball and its recent track. Frames are streamed: memory stays flat however long the video is.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from data_prep.clips import DataError, frame_paths, read_frame
from data_prep.importers import iter_video_frames
from engine.runs import next_run_dir
from evaluation.predictions import Track, write_track
from evaluation.report import write_video
from evaluation.visualize import draw_track
from tracking.tracker import Tracker


def open_frames(source: Path, max_frames: int | None = None):
    """A fresh iterator over the RGB frames of a video file or a numbered frame folder."""
    if source.is_dir():
        paths = frame_paths(source)[:max_frames]
        return (read_frame(p) for p in paths)
    return iter_video_frames(source, max_frames)


def video_fps(source: Path) -> float:
    if source.is_dir():
        return 30.0
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps if fps and 1 <= fps <= 240 else 30.0


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
    parser.add_argument("--live", type=int, metavar="LAG", help="streaming decoder with a fixed lag of LAG frames "
                        "(small chunks; rows are appended to track.csv as frames are decided)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.source.exists():
        raise DataError(args.source, "no such video file or frame folder")

    tracker = Tracker.load(args.weights, **({"chunk": 6} if args.live is not None else {}))
    out = args.out or next_run_dir(Path("runs"), "track")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = open_frames(args.source, args.max_frames)
    track = track_live(tracker, frames, args.live, out) if args.live is not None else tracker.track_frames(frames).track
    seconds = time.perf_counter() - started
    write_track(out / "track.csv", track)
    if not args.no_video:
        write_video(out / "overlay.mp4", draw_track(open_frames(args.source, args.max_frames), track),
                    fps=video_fps(args.source))
    summary = {"source": str(args.source), "frames": len(track), "frames_with_ball": int((track.codes > 0).sum()),
               "seconds": round(seconds, 2), "fps": round(len(track) / seconds, 1), "out": str(out)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
