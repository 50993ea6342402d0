"""Run the tracker on your own video: an mp4 (any resolution or frame rate) or a folder of numbered frames.

    python track.py match.mp4                        # -> runs/track_N/track.csv and overlay.mp4
    python track.py frames/ --out out/ --weights my_tracker.pt --no-video
    python track.py match.mp4 --live 8            # fixed latency: each frame decided 8 frames later, never revised
    python track.py season/ --out tracks/ --no-video   # every video of a folder (or several files): one folder each
    python track.py match.mp4 --start 600 --end 660    # one minute of it (seconds)
    python track.py match.mp4 --runtime onnx --weights exported/   # no PyTorch: python -m tracking.export first

Writes ``track.csv`` (``frame,code,x,y`` in the video's own pixels; x = y = -1 when no ball; one row per decoded
frame, so row i is frame i at the video's own frame rate; then ``time_s``, ``confidence`` and ``event``: hit, bounce
or blank), ``rally.json`` / ``rally.csv`` (the shots and bounces, on the court) and an overlay video at the input's
frame rate (``--fps`` for a frame folder, default 30) with the ball, its recent track, the events and a mini-map.
Frames are streamed: memory stays flat however long the video is (``bench/long_video.py``). Any resolution
works: frames are tracked at 1280 px wide and positions mapped back (mp4 encoders round odd sizes down, so the
overlay of an odd-sized input may be a pixel smaller).
On a terminal a progress bar shows frames/s and the time left; a summary line ends the run.

Several videos, or a folder of videos: each is tracked into ``--out/<video name>/`` and a table ends the run. A
video whose folder already holds its ``summary.json`` (written last) is skipped, so rerunning an interrupted archive
resumes it; a bad file is reported in the table and the others are still tracked (exit status 2 if any failed).

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

from cli.args import ArgumentError, check_weights_and_out
from data_prep.paths import FOLDER_FPS

TRACK_OUTPUTS = ("track.csv", "track.csv.part", "overlay.mp4", "summary.json")  # what --out receives


def parse_args(argv=None) -> argparse.Namespace:
    """The arguments, checked for what can be checked without loading anything (raises :class:`ArgumentError`)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="video file, folder of numbered frames (0000.jpg ...) or folder "
                        "of videos")
    parser.add_argument("more", type=Path, nargs="*", metavar="SOURCE", help="more videos or frame folders: each "
                        "is tracked into its own folder under --out")
    parser.add_argument("--out", type=Path, help="output folder; default runs/track_N")
    parser.add_argument("--weights", help="tracker bundle: file, Google Drive id or URL; default: shipped weights")
    parser.add_argument("--sha256", help="the sha256 the --weights file must have (checked before loading)")
    parser.add_argument("--max-frames", type=int, help="track only the first N frames")
    parser.add_argument("--start", type=float, default=0.0, help="seconds into the video to start at (default 0)")
    parser.add_argument("--end", type=float, help="seconds into the video to stop at (default: its end)")
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="onnx", help="onnx (default) or torch: "
                        "the networks run by onnxruntime (--weights: a folder written by python -m tracking.export, "
                        "then PyTorch is not even imported, or a bundle, exported once into the weights cache)")
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
    if args.start < 0 or (args.end is not None and args.end <= args.start):
        raise ArgumentError(f"--start / --end: need 0 <= start < end seconds, got {args.start} / {args.end}")
    for source in args.more:
        if not source.exists():
            raise ArgumentError(f"{source}: no such video file or frame folder")
    if not args.source.exists():
        raise ArgumentError(f"{args.source}: no such video file or frame folder")
    if args.source.is_file() and args.source.stat().st_size == 0:
        raise ArgumentError(f"{args.source}: the file is empty")
    if args.label_studio and (args.start or args.end is not None):
        raise ArgumentError("--label-studio: the whole video only (its tasks play the video from its start)")
    if args.label_studio and args.source.is_dir():
        raise ArgumentError("--label-studio: needs a video file: Label Studio's video tasks play the video itself")
    exported = args.exported = bool(args.runtime == "onnx" and args.weights and Path(args.weights).is_dir())
    if exported and args.sha256:
        raise ArgumentError("--sha256: checks a weights file; an exported folder is checked at export time")
    check_weights_and_out(None if exported else args.weights, args.out)
    if args.out is not None and args.source.is_file() and args.source.name in TRACK_OUTPUTS \
            and args.source.resolve().parent == args.out.resolve():
        raise ArgumentError(f"{args.source}: --out would write over the video being tracked; choose another --out")
    return args


def main(argv=None) -> dict:
    return track(parse_args(argv))


def track(args: argparse.Namespace) -> dict:
    """Track what the parsed arguments name; returns the summary (of an archive: its table)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from data_prep.label_studio import export_track
    from engine.runs import next_run_dir
    from tracking.tracker import LIVE_CHUNK, Tracker
    from tracking.video_job import archive_videos, track_archive, track_source

    videos = [args.source, *args.more] if args.more else archive_videos(args.source) if args.source.is_dir() else None
    if videos and args.label_studio:
        raise ArgumentError("--label-studio: one video at a time")
    tracker = Tracker.load(args.weights, sha256=args.sha256, **({"chunk": LIVE_CHUNK} if args.live is not None else {}),
                           **({"ensemble": True} if args.ensemble else {}), runtime=args.runtime)
    out = args.out or next_run_dir(prefix="track")
    options = {"max_frames": args.max_frames, "live": args.live, "overlay": not args.no_video, "fps": args.fps,
               "start": args.start, "end": args.end, "court": not args.no_court}
    if videos:
        return archive_table(track_archive(tracker, videos, out, **options))
    summary = track_source(tracker, args.source, out, **options)
    if args.label_studio:
        summary["label_studio"] = str(export_track(out / "track.csv", args.source, args.label_studio))
    print(json.dumps(summary))
    print(f"tracked {summary['frames']} frames in {summary['seconds']:.1f} s ({summary['fps']:.1f} frames/s), "
          f"ball in {summary['frames_with_ball']}: {out / 'track.csv'}"
          + ("" if args.no_video else f", {out / 'overlay.mp4'}"), file=sys.stderr)
    return summary


def archive_table(rows: list[dict]) -> dict:
    """Print one line per video of an archive run; the summary says how many failed."""
    width = max(len(Path(row["source"]).name) for row in rows)
    print(f"{'video':<{width}s} {'frames':>8s} {'with ball':>9s} {'frames/s':>8s}  status")
    for row in rows:
        print(f"{Path(row['source']).name:<{width}s} {row.get('frames', ''):>8} {row.get('frames_with_ball', ''):>9} "
              f"{row.get('fps', ''):>8}  {row['status']}")
    failed = sum(row["status"].startswith("error") for row in rows)
    print(f"{len(rows) - failed} of {len(rows)} videos tracked into {Path(rows[0]['out']).parent}"
          + (f"; {failed} failed" if failed else ""), file=sys.stderr)
    return {"videos": rows, "failed": failed}


def cli(argv=None) -> int:
    """The command line: bad input prints ``error: <file>: <message>`` (no traceback) and exits with status 2."""
    try:
        return _run(argv)
    except ArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback
        print("interrupted; run the command again to redo it", file=sys.stderr)
        return 130


def _run(argv) -> int:
    args = parse_args(argv)  # before the imports below: a bad argument fails at once
    from data_prep.clips import DataError

    errors = (DataError, OSError)
    if not args.exported:  # an exported folder: no torch here
        from model.checkpoint import CheckpointError

        errors += (CheckpointError,)
    try:
        summary = track(args)
    except errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 2 if summary.get("failed") else 0


if __name__ == "__main__":
    sys.exit(cli())
