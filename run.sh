#!/usr/bin/env bash
# One entry point that sets itself up: creates .venv (Python 3.11) and installs requirements.txt (versions locked by
# requirements.lock) when either changed.
#   bash run.sh demo    render the embedded synthetic data, train both stages briefly, evaluate, write videos
#   bash run.sh test    run the whole test suite
#   bash run.sh python evaluate.py ...   any command inside the environment
# Works from any folder: the environment and PYTHONPATH come from the project (this script's folder), the command
# runs in the caller's folder so relative paths the user types (a video, --data, --out) mean what they expect, and a
# project script (track.py, evaluate.py, ...) or module (-m cli.demo) is found when the folder has no such file.
set -euo pipefail
project=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
venv="$project/.venv"

python_bin=${PYTHON:-python3.11}
if [ ! -x "$venv/bin/python" ]; then
  echo "creating .venv with $python_bin" >&2
  "$python_bin" -m venv "$venv"
fi
# requirements.lock pins every transitive version (`bash .ci/lock.sh` remakes it), so a fresh .venv gets what CI tested.
want=$(sha256sum "$project/requirements.txt" | cut -d' ' -f1)
want_lock=$(sha256sum "$project/requirements.lock" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ] \
    || [ "$(cat "$venv/.lock.sha256" 2>/dev/null)" != "$want_lock" ]; then
  echo "installing requirements.txt into .venv (first run takes a few minutes)" >&2
  # No wheel cache: torch's CUDA libraries are ~3 GB of downloads that would otherwise be kept twice on disk.
  if ! (cd "$project" && "$venv/bin/python" -m pip install -q --no-cache-dir -r requirements.txt -c requirements.lock \
      > "$venv/pip.log" 2>&1); then
    cat "$venv/pip.log"
    if grep -q "No space left on device" "$venv/pip.log"; then
      echo "run.sh: the disk is full; .venv needs about 6.5 GB. Free space where $venv lies:" >&2
      df -h "$project" >&2
    fi
    exit 1
  fi
  echo "$want" > "$venv/.requirements.sha256"
  echo "$want_lock" > "$venv/.lock.sha256"
fi
export PYTHONPATH="$project${PYTHONPATH:+:$PYTHONPATH}" WANDB_MODE="${WANDB_MODE:-offline}"

case "${1:-}" in
  demo)
    shift
    cd "$project"  # the demo's data, runs and videos go to the project's data/ and runs/
    exec "$venv/bin/python" -m cli.demo "$@"
    ;;
  test)
    shift
    cd "$project"  # the suite's paths (tests/, conftest fixtures) are the project's
    exec "$venv/bin/python" -m pytest -q tests "$@"
    ;;
  python)
    shift
    # A script named like the project's entry points resolves to the project's unless the caller has such a file.
    if [ $# -gt 0 ] && [[ "$1" == *.py ]] && [ ! -e "$1" ] && [ -f "$project/$1" ]; then
      set -- "$project/$1" "${@:2}"
    fi
    exec "$venv/bin/python" "$@"
    ;;
  *)
    echo "usage: bash run.sh demo | test | python ARGS..." >&2
    exit 2
    ;;
esac
