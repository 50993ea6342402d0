"""run.sh works from any folder: the command runs in the caller's folder, the project is importable and its entry
points are found by name."""
import re
import subprocess
from importlib import metadata
from pathlib import Path

RUN_SH = Path(__file__).resolve().parents[1] / "run.sh"


def run_sh(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(RUN_SH), *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_command_runs_in_the_callers_folder(tmp_path):
    done = run_sh(tmp_path, "python", "-c", "import os; print(os.getcwd())")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]).resolve() == tmp_path.resolve()


def test_relative_file_arguments_resolve_from_the_callers_folder(tmp_path):
    (tmp_path / "clip.txt").write_text("a clip")
    (tmp_path / "show.py").write_text("import sys; print(open(sys.argv[1]).read())")
    done = run_sh(tmp_path, "python", "show.py", "clip.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("a clip")


def test_project_modules_and_scripts_are_found_from_elsewhere(tmp_path):
    module = run_sh(tmp_path, "python", "-m", "data_prep.clips")
    assert module.returncode == 0, module.stderr
    script = run_sh(tmp_path, "python", "report.py", "--help")
    assert script.returncode == 0, script.stderr
    assert "usage" in script.stdout


def _pins(path: Path) -> dict[str, str]:
    """``name: version`` of a requirements or lock file's ``name==version`` lines (names normalised)."""
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("#")[0].strip().split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_the_locks_hold_every_pin_and_what_the_venv_runs():
    project = RUN_SH.parent
    locked = _pins(project / "requirements.lock")
    stale = {name: version for name, version in _pins(project / "requirements.txt").items()
             if locked.get(name) != version}
    assert not stale, f"requirements.lock misses or differs on {stale}: run `bash .ci/lock.sh`"
    installed = {name: metadata.version(name) for name in locked if _installed(name)}
    assert {name: locked[name] for name in installed} == installed
    studio = _pins(project / ".ci" / "label_studio.lock")
    assert studio["label-studio"] == "1.23.2" and int(studio["sentry-sdk"].split(".")[0]) < 3


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False
