"""Hit and bounce detection, measured: the learned detector against the classical rule, split by match.

    python bench/events.py                                   # LOMO over the shared tennis_events matches + end to end
    python bench/events.py --matches 5 6 8 --epochs 12       # fewer folds, shorter training

1. Leave one match out over the labelled tracks of ``../shared/data/tennis_events`` (7 matches): for each match, a
   detector is trained (``train.py --stage events``) on the others, one of them validating (the peak threshold is
   chosen there), and scored on the held-out match's tracks as labelled and once augmented like a tracker's output
   (fixed seed). The classical rule (``tracking.events.classical_events``) is scored on the same tracks.
2. End to end on the labelled real clips (``--real``, imported with ``python -m data_prep.importers labelled-video
   ../shared/data/tennis_labelled --out data/tennis_real``; games 1-3 are matches 5, 6, 8): the shipped tracker
   tracks each clip, and the detector of the fold that held the clip's match out finds the events on that track.
   Event detection time is printed beside tracking time.

Events match within 2 frames at 30 fps (``evaluation.events``). Prints one table per part; ``--out`` keeps the
fold runs, the tracker's tracks (reused when present) and ``bench.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from cli.train import main as train_main  # noqa: E402
from data_prep.clips import discover_clips  # noqa: E402
from data_prep.events import EventTrack, clip_event_track  # noqa: E402
from engine.events_stage import load_tracks, validation_tracks  # noqa: E402
from evaluation.events import event_scores  # noqa: E402
from evaluation.predictions import read_track, write_track  # noqa: E402
from tracking.events import EventDetector, classical_events  # noqa: E402

REAL_MATCHES = {1: 5, 2: 6, 3: 8}  # data/tennis_real game -> TrackNet match (the importer's order)


def lomo(tracks: list[EventTrack], matches: list[int], out: Path, epochs: int | None) -> tuple[dict, dict]:
    """Per held-out match: the detector trained without it, and the figures on its tracks."""
    all_matches = sorted({t.match for t in tracks})
    detectors, rows = {}, {}
    pairs = {"learned": [], "learned_noisy": [], "classical": [], "classical_noisy": []}
    for match in matches:
        rest = [m for m in all_matches if m != match]
        val = rest[(all_matches.index(match)) % len(rest)]  # a fixed neighbour validates
        run = out / f"fold_{match}"
        argv = ["--stage", "events", "--games", *map(str, [m for m in rest if m != val]), "--val-games", str(val),
                "--out" if not (run / "last.pt").exists() else "--resume", str(run), "--wandb", "off"]
        if epochs:
            argv += ["--epochs", str(epochs)]
        train_main(argv)
        detectors[match] = EventDetector.load(run / "best.pt")
        held = [t for t in tracks if t.match == match]
        noisy = validation_tracks(held, seed=99)[len(held):]
        fold = {"learned": [(t.events, detectors[match].detect(t)) for t in held],
                "learned_noisy": [(t.events, detectors[match].detect(t)) for t in noisy],
                "classical": [(t.events, classical_events(t)) for t in held],
                "classical_noisy": [(t.events, classical_events(t)) for t in noisy]}
        rows[match] = {k: event_scores(v) for k, v in fold.items()}
        for k, v in fold.items():
            pairs[k] += v
        row = rows[match]
        print(f"match {match}: learned F1 {row['learned']['f1']:.3f} (noisy {row['learned_noisy']['f1']:.3f}), "
              f"classical {row['classical']['f1']:.3f}", flush=True)
    rows["all"] = {k: event_scores(v) for k, v in pairs.items()}
    return detectors, rows


def end_to_end(real: Path, detectors: dict, out: Path) -> dict:
    """Tracker -> detector on the labelled real clips, each with the detector that never saw its match."""
    from tracking.tracker import Tracker

    tracker = None
    pairs = {"learned": [], "classical": [], "learned_on_labels": [], "classical_on_labels": []}
    seconds = {"tracking": 0.0, "events": 0.0, "frames": 0}
    per_clip = {}
    for clip in discover_clips(real):
        match = REAL_MATCHES.get(clip.game)
        if match not in detectors:
            continue
        saved = out / "tracks" / f"{clip.name}.csv"
        if saved.is_file():
            track = read_track(saved, len(clip))
        else:
            tracker = tracker or Tracker.load()
            result = tracker.track_frames(clip.iter_frames(), total=len(clip))
            track = result.track
            seconds["tracking"] += result.seconds
            seconds["frames"] += len(clip)
            saved.parent.mkdir(parents=True, exist_ok=True)
            write_track(saved, track)
        labels = clip_event_track(clip)
        tracked = EventTrack(clip.name, match, track.xy, track.codes > 0, labels.events, clip.size)
        started = time.perf_counter()
        found = detectors[match].detect(tracked)
        seconds["events"] += time.perf_counter() - started
        pairs["learned"].append((labels.events, found))
        pairs["classical"].append((labels.events, classical_events(tracked)))
        pairs["learned_on_labels"].append((labels.events, detectors[match].detect(labels)))
        pairs["classical_on_labels"].append((labels.events, classical_events(labels)))
        per_clip[clip.name] = event_scores([pairs["learned"][-1]])["f1"]
    return {**{k: event_scores(v) for k, v in pairs.items()}, "per_clip_f1": per_clip, "seconds": seconds}


def _table(title: str, rows: dict) -> None:
    print(f"\n{title}\n| | F1 | hit P / R / F1 | bounce P / R / F1 | events |\n| --- | --- | --- | --- | --- |")
    for name, s in rows.items():
        if isinstance(s, dict) and "f1" in s:
            print(f"| {name} | {s['f1']:.3f} | {s['hit_precision']:.2f} / {s['hit_recall']:.2f} / {s['hit_f1']:.3f} | "
                  f"{s['bounce_precision']:.2f} / {s['bounce_recall']:.2f} / {s['bounce_f1']:.3f} | {s['true']} |")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=Path, help="folder of event tracks; default ../shared/data/tennis_events")
    parser.add_argument("--matches", type=int, nargs="+", help="matches to hold out in turn; default all")
    parser.add_argument("--real", type=Path, default=Path("data/tennis_real"), help="labelled real clips (imported)")
    parser.add_argument("--epochs", type=int, help="training epochs per fold; default the stage's")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_events"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)  # the event net's convolutions are tiny: on a busy 2-core CPU 2 threads were 20x slower
    tracks = load_tracks(args.events)
    matches = args.matches or sorted({t.match for t in tracks})
    detectors, rows = lomo(tracks, matches, args.out, args.epochs)
    _table("leave one match out, labelled tracks (noisy: once augmented like a tracker's output)", rows["all"])
    result = {"lomo": rows}
    if args.real.is_dir():
        e2e = end_to_end(args.real, detectors, args.out)
        _table(f"end to end on {args.real}: the shipped tracker's tracks (on_labels: the labelled tracks)", e2e)
        print("per clip F1:", {k: round(v, 3) for k, v in e2e["per_clip_f1"].items()})
        s = e2e["seconds"]
        if s["frames"]:
            print(f"tracking {s['tracking']:.1f} s for {s['frames']} frames; event detection "
                  f"{s['events'] * 1000:.1f} ms ({100 * s['events'] / s['tracking']:.3f}% of tracking)")
        result["end_to_end"] = e2e
    (args.out / "bench.json").write_text(json.dumps(result, indent=1, default=float))
    return result


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
