"""A W&B Report comparing runs, through the ``wandb-workspaces`` reports API: curves, headline figures, validation
media and the per-clip tables of the chosen runs, side by side.

Needs the runs on the W&B server: runs logged offline are synced first (``wandb sync RUN/wandb/offline-run-*``);
:func:`unsynced` lists the folders that still need it.
"""
from __future__ import annotations

from pathlib import Path

from data_prep.paths import WANDB_PROJECT
from evaluation.run_data import RunData

LINES = ("train/loss", "train/lr", "val/sibatracc", "val/score")
SCALARS = ("best_score", "sibatracc")


def build_wandb_report(runs: list[RunData], entity: str | None = None, project: str = WANDB_PROJECT,
                       title: str | None = None):
    """The report object (``wandb_workspaces.reports.v2.Report``), not saved: :func:`publish` saves it.

    The run set selects the runs by their W&B IDs (read from each run folder's ``wandb/`` subfolder).
    """
    import wandb_workspaces.reports.v2 as wr

    ids = [run_id for run in runs for run_id in run.wandb_ids]
    if not ids:
        raise ValueError("none of these run folders holds a W&B run (were they logged with --wandb off?)")
    runset = wr.Runset(entity=entity or "", project=project, name="compared runs",
                       filters="ID in [" + ", ".join(repr(i) for i in ids) + "]")
    # media/val_heatmap_game3_clip1.png was logged as val/heatmap_game3_clip1 (engine.logger's file names)
    media = sorted({name.replace("_", "/", 1) for run in runs for name in run.images}
                   | {p.stem.replace("_", "/", 1) for run in runs for p in run.videos})
    panels = [wr.LinePlot(title=key, x="Step", y=[key]) for key in LINES]
    panels += [wr.BarPlot(title=key, metrics=[key], orientation="h") for key in SCALARS]
    panels += [wr.MediaBrowser(title="validation media", media_keys=media, num_columns=2)] if media else []
    panels += [wr.WeavePanelSummaryTable(table_name=name) for name in ("val/per_clip", "eval/per_clip")]
    panels.append(wr.RunComparer(diff_only="split"))
    names = ", ".join(run.name for run in runs)
    kwargs = {"entity": entity} if entity else {}
    return wr.Report(project=project, title=title or f"Run review: {names}", width="fluid",
                     description="Built by report.py from the run folders " + names, **kwargs,
                     blocks=[wr.H1("Runs compared"),
                             wr.P(f"Runs: {names}. Local HTML with worst frames and close-ups: report.py --out."),
                             wr.PanelGrid(runsets=[runset], panels=panels)])


def publish(runs: list[RunData], entity: str | None = None, project: str = WANDB_PROJECT) -> str:
    """Save the report to the W&B server and return its URL."""
    report = build_wandb_report(runs, entity, project)
    report.save()
    return report.url


def unsynced(runs: list[RunData]) -> list[Path]:
    """Offline W&B folders of these runs not yet synced (``wandb sync`` leaves a ``*.synced`` marker)."""
    folders = [p for run in runs for p in sorted((run.path / "wandb").glob("offline-run-*")) if p.is_dir()]
    return [p for p in folders if not any(p.glob("*.synced"))]
