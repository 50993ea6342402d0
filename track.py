"""Run the tracker on your own video: an mp4 (any resolution or frame rate) or a folder of numbered frames.

    python track.py match.mp4                        # -> runs/track_N/track.csv and overlay.mp4
    python track.py frames/ --out out/ --weights my_tracker.pt --no-video
    python track.py match.mp4 --live 8            # fixed latency: each frame decided 8 frames later, never revised

Writes ``track.csv`` (``frame,code,x,y`` in the video's own pixels; x = y = -1 when no ball; one row per decoded
frame, so row i is frame i at the video's own frame rate) and an overlay video at the input's frame rate (``--fps``
for a frame folder, default 30) with the ball and its recent track. Frames are streamed: memory stays flat however
long the video is (``bench/long_video.py``). Any resolution works: frames are tracked at 1280 px wide and positions
mapped back (mp4 encoders round odd sizes down, so the overlay of an odd-sized input may be a pixel smaller).
On a terminal a progress bar shows frames/s and the time left; a summary line ends the run.

The arguments are checked before the libraries load, so a mistyped path fails at once. Bad input stops with
``error: <file>: <message>`` and exit status 2: a missing, empty, unreadable or frameless video, frames of
changing size, corrupt frame files, unreadable weights. A video that stops decoding early (cut short, damaged
frame) is tracked up to its last good frame, with a warning giving the frame counts.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from engine.cli_args import ArgumentError, check_weights_and_out

FOLDER_FPS = 30.0  # a frame folder carries no frame rate (tracking.video_job.FOLDER_FPS)


def parse_args(argv=None) -> argparse.Namespace:
    """The arguments, checked for what can be checked without loading anything (raises :class:`ArgumentError`)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="video file or folder of numbered frames (0000.jpg ...)")
    parser.add_argument("--out", type=Path, help="output folder; default runs/track_N")
    parser.add_argument("--weights", help="tracker bundle: file, Google Drive id or URL; default: shipped weights")
    parser.add_argument("--sha256", help="the sha256 the --weights file must have (checked before loading)")
    parser.add_argument("--max-frames", type=int, help="track only the first N frames")
    parser.add_argument("--no-video", action="store_true", help="skip the overlay video")
    parser.add_argument("--no-court", action="store_true", help="skip the court (once per camera shot; rally.json, "
                        "rally.csv and the overlay's mini-map)")
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
        raise ArgumentError(f"--max-frames: must be at least 1, got {args.max_frames}")
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise ArgumentError(f"--fps: must be above 0 and at most 1000, got {args.fps}")
    if args.live is not None and args.live < 0:
        raise ArgumentError(f"--live: the lag must be 0 or more frames, got {args.live}")
    if not args.source.exists():
        raise ArgumentError(f"{args.source}: no such video file or frame folder")
    if args.source.is_file() and args.source.stat().st_size == 0:
        raise ArgumentError(f"{args.source}: the file is empty")
    if args.label_studio and args.source.is_dir():
        raise ArgumentError("--label-studio: needs a video file: Label Studio's video tasks play the video itself")
    check_weights_and_out(args.weights, args.out)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from data_prep.label_studio import export_track
    from engine.runs import next_run_dir
    from tracking.tracker import LIVE_CHUNK, Tracker
    from tracking.video_job import track_source

    tracker = Tracker.load(args.weights, sha256=args.sha256, **({"chunk": LIVE_CHUNK} if args.live is not None else {}),
                           **({"ensemble": True} if args.ensemble else {}))
    out = args.out or next_run_dir(prefix="track")
    summary = track_source(tracker, args.source, out, max_frames=args.max_frames, live=args.live,
                           overlay=not args.no_video, fps=args.fps, court=not args.no_court)
    if args.label_studio:
        summary["label_studio"] = str(export_track(out / "track.csv", args.source, args.label_studio))
    print(json.dumps(summary))
    print(f"tracked {summary['frames']} frames in {summary['seconds']:.1f} s ({summary['fps']:.1f} frames/s), "
          f"ball in {summary['frames_with_ball']}: {out / 'track.csv'}"
          + ("" if args.no_video else f", {out / 'overlay.mp4'}"), file=sys.stderr)
    return summary


def cli(argv=None) -> int:
    """The command line: bad input prints ``error: <file>: <message>`` (no traceback) and exits with status 2."""
    try:
        return _run(argv)
    except ArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(argv) -> int:
    parse_args(argv)  # before the imports below: a bad argument fails at once
    from data_prep.clips import DataError
    from model.checkpoint import CheckpointError

    try:
        main(argv)
    except (DataError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())
