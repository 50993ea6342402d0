"""Same-match adaptation: fine-tune the shipped tracker on one clip of a match, score another clip of that match.

    python bench/same_match.py --data data/tennis_real --game 2 --train-clip 1 --max-minutes 6 --out runs/same_match_1

The training clip is split in time: its first ``--train-share`` of frames train, the rest validate (on them the
guard of ``train.py --stage all --init`` chooses between the fine-tuned and the starting networks); the game's
other clips are the test. ``OUT/data`` holds the three parts as games 1, 2 and 3 (frames hard-linked), and
``train.py --stage all --init weights/tracker.pt --with-embedded-val`` trains into ``OUT/run`` (rerun: it resumes).
Printed, on the test clips: SiBaTrAcc and P / R / F1 at TrackNet's 10 px of the shipped weights as shipped, of the
shipped networks with the decoder calibrated like the fine-tuned ones (``starting.pt``), of the fine-tuned networks
(``fine_tuned.pt``) and of the tracker the guard kept (``tracker.pt``); also written to ``OUT/same_match.json``.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from cli import recipe
from data_prep.clips import Clip, Labels, discover_clips, write_labels
from evaluation.metrics import TRACKNET_TOLERANCE_PX, DetectionCounts, Report, detection_counts, score_clip
from model.checkpoint import read_payload
from tracking.tracker import Tracker
from tracking.weights import DEFAULT_BUNDLE


def write_part(clip: Clip, start: int, stop: int, folder: Path) -> None:
    """Frames ``start:stop`` of ``clip`` as a clip folder of their own (hard links, renumbered from 0000)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, frame in enumerate(clip.frames[start:stop]):
        names.append(f"{i:04d}{frame.suffix}")
        if not (folder / names[-1]).exists():
            os.link(frame, folder / names[-1])
    labels = clip.labels
    write_labels(folder / "labels.csv", Labels(labels.codes[start:stop], labels.xy[start:stop],
                                               labels.traj[start:stop]), names)


def split_data(data: Path, game: int, train_clip: int, share: float, out: Path) -> Path:
    """``out`` as a data root: game 1 the first ``share`` of ``train_clip``, game 2 the rest, game 3 the others."""
    clips = discover_clips(data, [game])
    train = next(clip for clip in clips if clip.clip == train_clip)
    cut = round(len(train) * share)
    write_part(train, 0, cut, out / "game1" / "clip1")
    write_part(train, cut, len(train), out / "game2" / "clip1")
    for number, clip in enumerate((clip for clip in clips if clip is not train), start=1):
        write_part(clip, 0, len(clip), out / "game3" / f"clip{number}")
    return out


def score(weights: Path | None, clips: list[Clip]) -> dict:
    tracker = Tracker.load(weights)
    report, counts = Report(), DetectionCounts()
    for clip in clips:
        track = tracker.track_clip(clip)
        report.clips.append(score_clip(clip.name, clip.labels.codes, clip.labels.xy, track.codes, track.xy))
        counts += detection_counts(clip.labels.codes, clip.labels.xy, track.codes, track.xy, TRACKNET_TOLERANCE_PX)
    return {"sibatracc": report.sibatracc, "precision": counts.precision, "recall": counts.recall, "f1": counts.f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="labelled root, e.g. data/tennis_real")
    parser.add_argument("--game", type=int, required=True, help="the match (game) with two clips or more")
    parser.add_argument("--train-clip", type=int, default=1, help="the clip that trains and validates")
    parser.add_argument("--train-share", type=float, default=0.6, help="share of its frames that trains")
    parser.add_argument("--max-minutes", type=float, default=6.0, help="training budget of both stages")
    parser.add_argument("--proposal-flags", default="", help="more proposal flags, e.g. \"--steps-per-epoch 50\"")
    parser.add_argument("--refine-flags", default="", help="more refine flags")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    root = split_data(args.data, args.game, args.train_clip, args.train_share, args.out / "data")
    run = args.out / "run"
    recipe.main(["--data", str(root), "--games", "1", "--val-games", "2", "--test-games", "3", "--init",
                 str(DEFAULT_BUNDLE), "--with-embedded-val", "--max-minutes", str(args.max_minutes), "--out", str(run),
                 "--wandb", "off", "--proposal-flags", args.proposal_flags, "--refine-flags", args.refine_flags])
    test = discover_clips(root, [3])
    rows = {"shipped": score(None, test),
            **{name: score(run / f"{name}.pt", test) for name in ("starting", "fine_tuned")}}
    guard = read_payload(run / "tracker.pt", "tracker")["provenance"]["init_guard"]
    rows["tracker"] = rows[guard["kept"].replace("-", "_")]  # tracker.pt is that bundle, its provenance aside
    print(f"\ngame {args.game}: clip {args.train_clip} trains ({args.train_share:.0%}) and validates; test clips "
          f"{', '.join(str(clip.path) for clip in test)}; {args.max_minutes:g} min budget")
    print(f"{'weights':<12s} {'SiBaTrAcc':>9s} {'P@10':>6s} {'R@10':>6s} {'F1@10':>6s}")
    for name, row in rows.items():
        print(f"{name:<12s} {row['sibatracc']:9.4f} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f}")
    print(f"guard: kept the {guard['kept']} weights (validation SiBaTrAcc fine-tuned "
          f"{guard['sibatracc_fine_tuned']:.4f}, starting {guard['sibatracc_starting']:.4f})")
    (args.out / "same_match.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                          "test": rows, "guard": guard}, indent=1) + "\n")


if __name__ == "__main__":
    main()
