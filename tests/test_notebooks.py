"""Notebooks run top to bottom on generated data (they only call the package)."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def review_runs(request, tmp_path: Path) -> str:
    """The tiny training runs and an evaluation of their bundle, as ``REVIEW_RUNS`` for run_review.ipynb."""
    import evaluate

    tiny_runs, ball_data = request.getfixturevalue("tiny_runs"), request.getfixturevalue("ball_data")
    evaluate.main(["--data", str(ball_data), "--games", "3", "--weights", str(tiny_runs["bundle"]),
                   "--out", str(tmp_path / "exp_1"), "--wandb", "off"])
    runs = [tiny_runs["proposal"].parent, tiny_runs["refine"].parent, tmp_path / "exp_1"]
    return os.pathsep.join(str(run) for run in runs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch, request):
    monkeypatch.setenv("TOUR_DATA", str(tmp_path))
    if path.name == "run_review.ipynb":
        monkeypatch.setenv("REVIEW_RUNS", review_runs(request, tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert any(o.get("output_type") == "display_data" for c in notebook.cells for o in c.get("outputs", []))
    if path.name == "run_review.ipynb":
        shown = "".join(o.get("data", {}).get("text/html", "") for c in notebook.cells for o in c.get("outputs", []))
        assert "exp_1" in shown and "data:video/webm;base64," in shown and "game3_clip1 frame" in shown
