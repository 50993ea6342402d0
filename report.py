"""Review runs: a self-contained HTML report from run folders, and a W&B Report comparing them when online.

    python report.py runs/proposal_1 runs/refine_1                  # -> runs/proposal_1/report.html
    python report.py runs/exp_3 --out review.html                   # an evaluate.py run
    python report.py runs/proposal_1 runs/proposal_2 --wandb-report # also a W&B Report (online only)
    python report.py runs/demo_1                                    # a folder of runs: the demo's three

Works on training runs (``train.py``: curves, validation images, overlay video, per-clip and per-frame tables of
the last validation) and evaluation runs (``evaluate.py``: ``report.json``, predictions, tables, overlay video).
Everything comes from the run folders; worst-frame close-ups also need the run's data where it was.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from data_prep.atomic import os_error_line
from engine.logger import wandb_mode
from evaluation.html_report import write_html_report
from evaluation.run_data import load_run, run_folders


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (runs/proposal_N, runs/exp_N, ...) or "
                        "folders holding run folders (runs/demo_N)")
    parser.add_argument("--out", type=Path, help="HTML file to write (an existing folder: report.html in it); "
                        "default: report.html in the first run folder")
    parser.add_argument("--worst", type=int, default=8, help="worst frames shown per run")
    parser.add_argument("--wandb-report", action="store_true",
                        help="also save a W&B Report comparing the runs (needs WANDB_API_KEY, or WANDB_MODE=online)")
    parser.add_argument("--entity", help="W&B entity of the report; default: the key's default entity")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Returns {"html": path, "wandb": URL or None, "wandb_skipped": reason or None}."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    folders = [folder for path in args.runs for folder in run_folders(path)]
    runs = [load_run(folder) for folder in folders]
    out = args.out or args.runs[0] / "report.html"
    out = out / "report.html" if out.is_dir() else out
    write_html_report(runs, out, args.worst)
    print(f"HTML report: {out}")
    result = {"html": out, "wandb": None, "wandb_skipped": None}
    if args.wandb_report:
        result.update(wandb_report(runs, args.entity))
    return result


def wandb_report(runs, entity: str | None) -> dict:
    """Save the W&B Report when online; otherwise say why it was skipped. Never raises."""
    mode = wandb_mode()
    if mode != "online":
        reason = "offline (set WANDB_API_KEY or WANDB_MODE=online to build it)"
    else:
        try:
            from evaluation.wandb_report import publish, unsynced

            for folder in unsynced(runs):
                print(f"{folder} was logged offline: run `wandb sync {folder}` first or the report will miss it")
            url = publish(runs, entity)
            print(f"W&B report: {url}")
            return {"wandb": url}
        except ImportError as error:
            reason = f"wandb-workspaces is not installed ({error})"
        except Exception as error:  # the local report is written already; W&B must not fail the command
            reason = f"W&B failed: {error}"
    print(f"W&B report skipped: {reason}")
    return {"wandb_skipped": reason}


def cli(argv=None) -> int:
    """The command line: a path that holds no run prints ``error: <path>: ...`` and exits with status 2."""
    try:
        main(argv)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only --out
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback
        print("interrupted; run the command again to redo it", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
