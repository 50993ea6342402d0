"""The README's SuperTrackingModel snippet runs as pasted: the python block after ``<!-- snippet: assignment -->``."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- snippet: assignment -->"


def readme_snippet() -> str:
    """The code of the first ```python block after the marker line in README.md."""
    text = (ROOT / "README.md").read_text()
    if MARKER not in text:
        pytest.fail(f"README.md has no line {MARKER!r} before the SuperTrackingModel snippet "
                    "(docs/readme_snippet.py is the snippet to put under it)")
    after = text.split(MARKER, 1)[1].lstrip("\n")
    assert after.startswith("```python\n"), f"a ```python block must follow {MARKER!r}"
    return after[len("```python\n"):].split("\n```", 1)[0] + "\n"


def test_readme_snippet_is_docs_readme_snippet():
    assert readme_snippet() == (ROOT / "docs" / "readme_snippet.py").read_text()


def test_readme_snippet_runs_as_pasted(tmp_path):
    """Run where a user would paste it, a folder of their own: its runs/ goes there, not into the project's."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", readme_snippet()], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SiBaTrAcc on game 1:" in done.stdout
    assert (tmp_path / "runs" / "assignment" / "readme" / "report.json").is_file()
