"""The review figures of one or more runs (:class:`evaluation.run_data.RunData`): training curves, per-clip
SiBaTrAcc, the per-frame error histogram and close-ups of the worst frames.

Plots are matplotlib ``Figure`` objects built without pyplot (no global state, no display needed); the HTML
report and the review notebook both turn them into PNG with :func:`png_bytes`.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from evaluation.metrics import MISS_ERROR
from evaluation.run_data import RunData
from evaluation.visualize import close_up

# (title, keys tried in order): runs shorter than the logging interval only have the per-epoch loss
CURVES = (("training loss", ("train/loss", "train/loss_epoch")), ("learning rate", ("train/lr",)),
          ("validation score (SiBaTrAcc)", ("val/score", "val/sibatracc")))


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def training_curves(runs: list[RunData]) -> Figure | None:
    """Loss, learning rate and validation SiBaTrAcc against the training step, one line per run; None when no
    run logged any of them (evaluation runs)."""
    panels = []
    for title, keys in CURVES:
        key = next((k for k in keys if any(run.series(k)[0].size for run in runs)), None)
        if key is not None:
            panels.append((title, key))
    if not panels:
        return None
    figure = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
    for ax, (title, key) in zip(np.atleast_1d(figure.subplots(1, len(panels))), panels):
        for run in runs:
            steps, values = run.series(key)
            if steps.size:
                ax.plot(steps, values, marker="o" if steps.size < 30 else None, ms=3, label=run.name)
        ax.set(title=title, xlabel="step")
        ax.grid(alpha=0.3)
        if key.startswith("train/loss") and all(v > 0 for run in runs for v in run.series(key)[1]):
            ax.set_yscale("log")
    figure.axes[0].legend(fontsize=8)
    return figure


def per_clip_scores(runs: list[RunData]) -> Figure | None:
    """Horizontal bars of SiBaTrAcc per clip, one colour per run; None when no run scored clips."""
    runs = [run for run in runs if run.per_clip]
    if not runs:
        return None
    clips = sorted({row["clip"] for run in runs for row in run.per_clip})
    height = 0.8 / len(runs)
    figure = Figure(figsize=(8, 1.2 + 0.35 * len(clips) * len(runs)), layout="constrained")
    ax = figure.subplots()
    for j, run in enumerate(runs):
        scores = {row["clip"]: row["sibatracc"] for row in run.per_clip}
        y = np.arange(len(clips)) + j * height
        values = [scores.get(c, np.nan) for c in clips]
        bars = ax.barh(y, values, height, label=f"{run.name} (mean {np.nanmean(values):.3f})")
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_yticks(np.arange(len(clips)) + height * (len(runs) - 1) / 2, clips)
    ax.invert_yaxis()
    ax.set(xlim=(min(0.0, ax.get_xlim()[0]), 1.08), xlabel="SiBaTrAcc", title="SiBaTrAcc per clip")
    figure.legend(fontsize=8, loc="outside lower center", ncols=min(len(runs), 3))
    return figure


def error_histogram(runs: list[RunData]) -> Figure | None:
    """Distribution of per-frame SiBaTrAcc errors (0 = within 8 px, 5 = missed or invented ball) per run."""
    runs = [run for run in runs if run.frames]
    if not runs:
        return None
    figure = Figure(figsize=(8, 3.4), layout="constrained")
    ax = figure.subplots()
    bins = np.linspace(0, MISS_ERROR, 21)
    for run in runs:
        errors = np.array([row["error"] for row in run.frames], np.float64)
        ax.hist(errors, bins=bins, histtype="step", lw=2, label=f"{run.name} ({errors.size} frames)")
    ax.set(xlabel="per-frame SiBaTrAcc error", ylabel="frames", yscale="log", title="per-frame error histogram")
    ax.legend(fontsize=8)
    return figure


def worst_frames(run: RunData, count: int = 8) -> list[tuple[str, np.ndarray | None]]:
    """The ``count`` frames with the largest error: (caption, close-up RGB around the label or the prediction),
    the image None when the run's data is not available here or the run did not log positions."""
    ranked = sorted(run.frames, key=lambda row: (-row["error"], row["clip"], row["frame"]))[:count]
    out = []
    for row in ranked:
        caption = f"{row['clip']} frame {row['frame']}: error {row['error']:.2f}"
        if "gt_code" in row:
            caption += f" (label code {row['gt_code']}, predicted code {row['code']}"
            if row["gt_code"] and row["code"]:
                caption += f", {np.hypot(row['x'] - row['gt_x'], row['y'] - row['gt_y']):.0f} px apart"
            caption += ")"
        image = None
        if "gt_x" in row and (frame := run.frame_image(row["clip"], int(row["frame"]))) is not None:
            gt, pred = np.array([row["gt_x"], row["gt_y"]]), np.array([row["x"], row["y"]])
            image = close_up(frame, gt if row["gt_code"] else pred, gt, pred if row["code"] else None)
        out.append((caption, image))
    return out
