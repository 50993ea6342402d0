"""Notebooks run top to bottom on generated data (they only call the package), from the project root whatever
folder the kernel starts in, and print no warnings."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def review_runs(request, tmp_path: Path) -> str:
    """The tiny training runs and an evaluation of their bundle, as ``REVIEW_RUNS`` for run_review.ipynb; the
    evaluation is named relative to the project root, as a user would type ``runs/exp_1``."""
    import evaluate

    tiny_runs, ball_data = request.getfixturevalue("tiny_runs"), request.getfixturevalue("ball_data")
    evaluate.main(["--data", str(ball_data), "--games", "3", "--weights", str(tiny_runs["bundle"]),
                   "--out", str(tmp_path / "exp_1"), "--wandb", "off"])
    runs = [tiny_runs["proposal"].parent, tiny_runs["refine"].parent, os.path.relpath(tmp_path / "exp_1", ROOT)]
    return os.pathsep.join(str(run) for run in runs)


def outputs(notebook, kind: str) -> list[dict]:
    return [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == kind]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch, request):
    monkeypatch.setenv("TOUR_DATA", str(tmp_path))
    if path.name == "run_review.ipynb":
        monkeypatch.setenv("REVIEW_RUNS", review_runs(request, tmp_path))
    if path.name == "assignment.ipynb":  # the pipeline on the tiny clips instead of the embedded test games
        monkeypatch.setenv("ASSIGNMENT_DATA", str(request.getfixturevalue("ball_data")))
        monkeypatch.setenv("ASSIGNMENT_OUT", str(tmp_path / "assignment"))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert outputs(notebook, "display_data")
    stderr = "".join(o["text"] for o in outputs(notebook, "stream") if o.get("name") == "stderr")
    assert "Warning" not in stderr and "warn" not in stderr.lower(), stderr
    if path.name == "run_review.ipynb":
        shown = "".join(o.get("data", {}).get("text/html", "") for o in outputs(notebook, "display_data"))
        assert "exp_1" in shown and "data:video/webm;base64," in shown and "game3_clip1 frame" in shown
    if path.name == "assignment.ipynb":
        printed = "".join(o["text"] for o in outputs(notebook, "stream") if o.get("name") == "stdout")
        assert "game1_clip1" in printed and "game2_clip1" in printed and "SiBaTrAcc:" in printed
        assert (tmp_path / "assignment" / "test" / "videos" / "game1_clip1.mp4").is_file()
