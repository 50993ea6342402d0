"""A self-contained HTML review of one or more runs: every figure, image and video is embedded as a data URI, so
the single file opens anywhere, offline, and can be mailed or archived with no folder next to it.

Sections: the runs (stage, data, commit, headline SiBaTrAcc), training curves, per-clip SiBaTrAcc, the per-frame
error histogram, the worst frames with close-ups, the validation images and the overlay video of each run.
"""
from __future__ import annotations

import base64
import html
import math
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from evaluation.figures import error_histogram, per_clip_scores, png_bytes, training_curves, worst_frames
from evaluation.run_data import RunData

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; padding: 0 16px; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img, video { max-width: 100%; } figure { display: inline-block; margin: 6px; vertical-align: top; }
figcaption { font-size: 12px; color: #555; max-width: 300px; } .muted { color: #777; }
"""


def write_html_report(runs: list[RunData], out: Path, worst: int = 8) -> Path:
    """Write the review of ``runs`` to ``out`` (one HTML file) and return its path."""
    parts = [f"<h1>Run review</h1><p class=muted>{len(runs)} run(s), written {time.strftime('%Y-%m-%d %H:%M')}"
             "</p>", runs_table(runs)]
    parts.append(_figure_section("Training curves", training_curves(runs), "no training history in these runs"))
    parts.append(_figure_section("SiBaTrAcc per clip", per_clip_scores(runs), "no per-clip scores"))
    parts += [clip_table(run) for run in runs if run.per_clip]
    if any(run.breakdown for run in runs):
        parts.append("<h2>Failure breakdown</h2><p class=muted>Far: ball in the upper half of the frame; near: lower "
                     "half; occluded: label code 3. False positives on / off court: inside / outside the play area "
                     "(the labelled balls' hull, grown by its margin). Code-3 output: frames the tracker calls "
                     "occluded (gap filling).</p>")
        parts += [breakdown_table(run) for run in runs if run.breakdown]
    parts.append(_figure_section("Per-frame error histogram", error_histogram(runs), "no per-frame errors"))
    parts.append("<h2>Worst frames</h2><p class=muted>Green ring: label; red ring: prediction.</p>")
    for run in tqdm(runs, desc="worst frames", leave=False):
        parts.append(worst_frames_html(run, worst))
    parts.append("<h2>Validation images</h2><p class=muted>Heatmaps in yellow; crop stacks t-2..t+2 with the "
                 "label (green ring), the proposal (blue cross) and the refined position (red dot).</p>")
    parts += [images_html(run) for run in runs]
    parts.append("<h2>Overlay video</h2>")
    parts += [videos_html(run) for run in runs]
    page = ("<!doctype html><html><head><meta charset=utf-8><title>Run review: "
            f"{html.escape(', '.join(run.name for run in runs))}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_uri(image: np.ndarray) -> str:
    """RGB (H, W, 3) uint8 -> a PNG data URI."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok, "PNG encoding failed"
    return data_uri(encoded.tobytes(), "image/png")


def runs_table(runs: list[RunData]) -> str:
    rows = []
    for run in runs:
        c = run.config
        data = Path(str(c.get("data_root") or c.get("data") or "?")).name
        steps = max((r.get("step", 0) for r in run.history), default=0)
        rows.append([run.name, run.stage, data, c.get("git", "?"), steps or "", _fmt(run.sibatracc),
                     _fmt(run.summary.get("f1", run.summary.get("last_f1"))), str(run.path)])
    head = ["run", "stage", "data", "commit", "steps", "SiBaTrAcc", "F1", "folder"]
    return "<h2>Runs</h2>" + _table(head, rows) + (
        "<p class=muted>SiBaTrAcc: the evaluation's score, or a training run's best validation score.</p>")


def figure_html(figure, alt: str = "figure") -> str:
    """A matplotlib figure as an embedded PNG ``<img>``."""
    return f'<img alt="{html.escape(alt)}" src="{data_uri(png_bytes(figure), "image/png")}">'


def _figure_section(title: str, figure, empty: str) -> str:
    body = figure_html(figure, title) if figure is not None else f"<p class=muted>{empty}</p>"
    return f"<h2>{html.escape(title)}</h2>{body}"


def clip_table(run: RunData) -> str:
    columns = [c for c in ("clip", "frames", "sibatracc", "precision", "recall", "f1", "mean_error_px")
               if c in run.per_clip[0]]
    rows = [[_fmt(row.get(c)) for c in columns] for row in run.per_clip]
    head = [{"sibatracc": "SiBaTrAcc", "mean_error_px": "mean error (px)"}.get(c, c) for c in columns]
    return f"<h3>{html.escape(run.name)}</h3>" + _table(head, rows)


def breakdown_table(run: RunData) -> str:
    """One run's failure breakdown: a row per ball group, then the false positives and the code-3 output."""
    b = run.breakdown
    rows = [[name, b[name]["frames"], _fmt(b[name]["sibatracc"]), _fmt(b[name]["recall"]), b[name]["missed"],
             b[name]["wrong_place"]] for name in ("far", "near", "occluded")]
    fp, filled = b["false_positives"], b["filled"]
    extra = [["false positives on court", fp["on_court"], f"{fp['on_court_per_1000_frames']:.1f} per 1000 frames"],
             ["false positives off court", fp["off_court"], f"{fp['off_court_per_1000_frames']:.1f} per 1000 frames"],
             ["code-3 output (frames)", filled["frames"],
              f"mean error {_fmt(filled['mean_error_px'])} px, {filled['on_absent_frames']} on ball-less frames"]]
    return (f"<h3>{html.escape(run.name)}</h3>"
            + _table(["balls", "frames", "SiBaTrAcc", "recall", "missed", "wrong place"], rows)
            + _table(["", "count", ""], extra))


def worst_frames_html(run: RunData, count: int = 8) -> str:
    if not run.frames:
        return f"<h3>{html.escape(run.name)}</h3><p class=muted>no per-frame errors logged</p>"
    tiles = []
    for caption, image in worst_frames(run, count):
        picture = f'<img src="{png_uri(image)}" width=288>' if image is not None else (
            "<p class=muted>(frame not available here)</p>")
        tiles.append(f"<figure>{picture}<figcaption>{html.escape(caption)}</figcaption></figure>")
    return f"<h3>{html.escape(run.name)}</h3>" + "".join(tiles)


def images_html(run: RunData) -> str:
    if not run.images:
        return f"<h3>{html.escape(run.name)}</h3><p class=muted>no validation images</p>"
    tiles = [f'<figure><img src="{data_uri(path.read_bytes(), "image/png")}"><figcaption>{html.escape(name)}'
             "</figcaption></figure>" for name, path in run.images.items()]
    return f"<h3>{html.escape(run.name)}</h3>" + "".join(tiles)


def videos_html(run: RunData) -> str:
    if not run.videos:
        return f"<h3>{html.escape(run.name)}</h3><p class=muted>no overlay video</p>"
    tiles = [f'<figure><video controls loop muted src="{data_uri(path.read_bytes(), "video/webm")}"></video>'
             f"<figcaption>{html.escape(path.stem)}</figcaption></figure>" for path in run.videos]
    return f"<h3>{html.escape(run.name)}</h3>" + "".join(tiles)


def _table(head: list[str], rows: list[list]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _cell(value) -> str:
    numeric = isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value))
    return f"<td{' class=num' if numeric else ''}>{html.escape(str(value))}</td>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.4f}"
    return "" if value is None else str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
