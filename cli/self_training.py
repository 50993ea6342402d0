"""Self-training on unlabelled broadcasts, round after round, as one resumable command.

    python -m cli.self_training --videos ../shared/data/tennis_videos --labelled data/tennis_real \
        [--rounds 2] [--teacher weights/tracker.pt] [--out runs/self_training]

Each round: the teacher pseudo-labels the imported videos (:mod:`tracking.pseudo_labels`: kept where time vouches
for a label, the rest ignored), the refiner is retrained on the embedded synthetic games plus those clips
(as ``train.py --stage refine --extra-data``: the default recipe with its composites and real hard negatives), the
student is bundled with the teacher's proposal and a decoder calibrated on the labelled clips plus the embedded
validation games, and it is scored on the labelled clips leaving one match out (as ``bench/calibration.py``:
:func:`engine.calibration.leave_one_match_out`). The student is the next round's teacher. A round whose held-out
score does not beat its teacher's stops the sequence: a round that does not help is seen and not built on. Last
(unless ``--no-proposal``), a proposal is trained on the synthetic games plus the best round's pseudo-labels and
bundled with that round's refiner, scored the same way.

Every step leaves its result in ``OUT`` and is skipped when rerun: kill the command at any point and run it again
to go on (a killed training resumes from its last checkpoint). The steps are the library's functions, called in
this process; a failing step stops the sequence naming it. One summary table at the end, also in
``OUT/summary.json``. The best round's bundle is ``OUT/roundN/tracker.pt`` with its sha256 in ``SHA256SUMS`` beside
it: copy both to ``weights/`` to ship.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cli.bundle import print_bundle
from cli.pseudo_labels import label_root
from cli.train import ensure_trained
from data_prep.atomic import os_error_line, write_text_atomic
from data_prep.clips import DataError, discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from data_prep.importers import VIDEO_SUFFIXES, import_video
from data_prep.paths import RUNS_DIR
from engine.bundle import bundle_tracker
from engine.calibration import leave_one_match_out
from engine.config import ProposalConfig, RefineConfig
from engine.loop import NonFiniteLoss
from engine.runs import Interrupted, RunFolderBusy, training_state
from engine.train import ConfigError
from model.checkpoint import CheckpointError
from tracking.tracker import Tracker
from tracking.weights import DEFAULT_BUNDLE

STEP_ERRORS = (DataError, CheckpointError, ConfigError, NonFiniteLoss, RunFolderBusy, OSError)


def run_step(title: str, step: Callable, *args, **kwargs):
    """Run ``step(*args, **kwargs)`` titled and timed; returns its result. A step failing on bad input stops the
    sequence naming the step."""
    print(f"== {title}", flush=True)
    started = time.perf_counter()
    try:
        result = step(*args, **kwargs)
    except STEP_ERRORS as error:
        reason = os_error_line(error) if isinstance(error, OSError) else error
        raise SystemExit(f"error: step '{title}' failed: {reason}; fix it and rerun to go on") from None
    print(f"   {title}: {time.perf_counter() - started:.0f} s", flush=True)
    return result


def pseudo_label(data: Path, teacher: Path) -> str:
    """Pseudo-label the clips of ``data`` with the bundle ``teacher``; returns the summary line."""
    summary = label_root(data, Tracker.load(teacher))
    print(summary)
    return summary


def bundle(out: Path, proposal: Path, refiner: Path, labelled: Path, games: list[int]) -> Path:
    """Bundle ``proposal`` (a checkpoint or a bundle's) with ``refiner``, the decoder calibrated on the labelled
    clips plus the embedded validation games."""
    print_bundle(out, bundle_tracker(out, proposal, refiner, data=labelled, val_games=games, with_embedded_val=True))
    return out


def held_out(weights: Path, labelled: Path, games: list[int]) -> dict:
    """``bench/calibration.py --data LABELLED --games ... --with-embedded-val --weights WEIGHTS``: each match scored
    with a decoder calibrated without it."""
    val_games = list(EMBEDDED.val_games)
    extra = discover_clips(ensure_embedded(games=val_games), val_games)
    result = leave_one_match_out(Tracker.load(weights, runtime="onnx"), discover_clips(labelled, games), extra)
    return {"data": str(labelled), "with_embedded_val": True, **result}


class SelfTraining:
    """The sequence's steps over one output folder; each ``ensure_*`` does its step unless its result is there."""

    def __init__(self, out: Path, videos: Path, labelled: Path, width: int):
        self.out, self.videos, self.labelled, self.width = out, videos, labelled, width
        self.unlabelled = out / "unlabelled"
        self.games = sorted({clip.game for clip in discover_clips(labelled)})

    def ensure_imported(self) -> None:
        """Each video as ``unlabelled/gameG/clip1`` (G in name order), full-resolution width ``width``."""
        videos = sorted(p for p in self.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if not videos:
            raise SystemExit(f"error: {self.videos}: no video ({', '.join(VIDEO_SUFFIXES)}) to learn from")
        for game, video in enumerate(videos, start=1):
            marker = self.unlabelled / f".imported-{game}"
            if marker.is_file():
                continue
            run_step(f"import {video.name} as game {game}", import_video, video, self.unlabelled, game,
                     width=self.width, overwrite=True)
            write_text_atomic(marker, video.name + "\n")

    def ensure_pseudo_labels(self, round_dir: Path, teacher: Path) -> Path:
        """A hard-linked copy of the imported clips with the teacher's pseudo-labels."""
        data, marker = round_dir / "data", round_dir / "pseudo_labels.txt"
        if not marker.is_file():
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(self.unlabelled, data, copy_function=os.link,
                            ignore=shutil.ignore_patterns(".imported-*", "labels.csv"))
            summary = run_step(f"pseudo-labels by {teacher}", pseudo_label, data, teacher)
            write_text_atomic(marker, summary + "\n")
        return data

    def ensure_trained(self, run: Path, stage: str, data: Path, proposal: Path | None = None) -> Path:
        """The ``stage`` trained on the synthetic games plus ``data`` into ``run`` (the refiner on the candidates of
        ``proposal``), resumed when a killed run left its config there; returns the checkpoint a bundle takes (the
        refiner's last, the proposal's best)."""
        cfg = (RefineConfig(proposal=proposal, extra_data=[data], wandb="off") if stage == "refine"
               else ProposalConfig(extra_data=[data], wandb="off"))
        if training_state(run) != "finished":
            run_step(f"{stage} on synthetic + pseudo-labelled clips", ensure_trained, run, stage, cfg)
        return run / ("last.pt" if stage == "refine" else "best.pt")

    def ensure_bundle(self, round_dir: Path, proposal: Path, refiner: Path) -> Path:
        """proposal: a proposal checkpoint or a bundle (its proposal is used)."""
        out = round_dir / "tracker.pt"
        if not out.is_file():
            run_step("bundle, decoder calibrated on the labelled clips", bundle, out, proposal, refiner,
                     self.labelled, self.games)
        return out

    def ensure_held_out(self, round_dir: Path, weights: Path) -> float:
        """SiBaTrAcc on the labelled clips, each match scored with a decoder calibrated without it."""
        result = round_dir / "held_out.json"
        if not result.is_file():
            scores = run_step(f"leave one match out: {weights}", held_out, weights, self.labelled, self.games)
            write_text_atomic(result, json.dumps(scores, indent=1, default=str) + "\n")
        return float(json.loads(result.read_text())["sibatracc_calibrated"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, required=True, help="folder of unlabelled broadcast videos")
    parser.add_argument("--labelled", type=Path, required=True,
                        help="labelled clips (assignment layout, several matches as games) that judge every round")
    parser.add_argument("--rounds", type=int, default=2, help="student rounds at most (default 2)")
    parser.add_argument("--teacher", type=Path, default=DEFAULT_BUNDLE, help="first teacher; default: shipped")
    parser.add_argument("--out", type=Path, default=RUNS_DIR / "self_training")
    parser.add_argument("--width", type=int, default=1280, help="frame width the videos are imported at")
    parser.add_argument("--no-proposal", action="store_true",
                        help="skip the last step (a proposal trained on the best round's pseudo-labels)")
    args = parser.parse_args(argv)
    for path in (args.videos, args.labelled):
        if not path.is_dir():
            parser.error(f"{path}: no such folder")
    if not args.teacher.is_file():
        parser.error(f"{args.teacher}: no such tracker bundle")
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    out = args.out.resolve()
    steps = SelfTraining(out, args.videos.resolve(), args.labelled.resolve(), args.width)
    started = time.perf_counter()
    steps.ensure_imported()
    teacher = args.teacher.resolve()
    rows = [{"round": 0, "weights": str(teacher), "held_out": steps.ensure_held_out(out / "round0", teacher)}]
    for number in range(1, args.rounds + 1):
        round_dir = out / f"round{number}"
        data = steps.ensure_pseudo_labels(round_dir, teacher)
        refiner = steps.ensure_trained(round_dir / "refine", "refine", data, teacher)
        student = steps.ensure_bundle(round_dir, teacher, refiner)
        score = steps.ensure_held_out(round_dir, student)
        rows.append({"round": number, "weights": str(student), "held_out": score,
                     "pseudo_labels": (round_dir / "pseudo_labels.txt").read_text().strip()})
        if score <= rows[-2]["held_out"]:
            print(f"round {number} did not beat its teacher ({score:.4f} <= {rows[-2]['held_out']:.4f}): stopped")
            break
        teacher = student
    best_round = max(rows[1:], key=lambda r: r["held_out"])
    if not args.no_proposal and best_round["held_out"] > rows[0]["held_out"]:
        source, last = out / f"round{best_round['round']}", out / "proposal_round"
        proposal = steps.ensure_trained(last / "proposal", "proposal", source / "data")
        tracker = steps.ensure_bundle(last, proposal, source / "refine" / "last.pt")
        rows.append({"round": f"{best_round['round']} + proposal", "weights": str(tracker),
                     "held_out": steps.ensure_held_out(last, tracker)})
    best = max(rows, key=lambda r: r["held_out"])
    summary = {"rounds": rows, "best": best, "seconds": round(time.perf_counter() - started)}
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print("== self-training: SiBaTrAcc on the labelled clips, each match held out")
    for row in rows:
        print(f"  round {row['round']}  {row['held_out']:.4f}  {row['weights']}")
    print(f"best: round {best['round']} ({best['weights']}); {summary['seconds']} s this invocation")
    return 0


def cli(argv: list[str] | None = None) -> int:
    """The command line: Ctrl-C prints how to go on (exit status 130), not a traceback."""
    try:
        return main(argv)
    except (Interrupted, KeyboardInterrupt):
        print("interrupted; run the same command again to go on", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(cli())
