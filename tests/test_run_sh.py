"""run.sh works from any folder: the command runs in the caller's folder, the project is importable and its entry
points are found by name."""
import subprocess
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
