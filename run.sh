#!/usr/bin/env bash
# One entry point that sets itself up: creates .venv (Python 3.11) and installs requirements.txt when they changed.
#   bash run.sh demo    render the embedded synthetic data, train both stages briefly, evaluate, write videos
#   bash run.sh test    run the whole test suite
#   bash run.sh python evaluate.py ...   any command inside the environment
set -euo pipefail
cd "$(dirname "$0")"

python_bin=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$want" ]; then
  echo "installing requirements.txt into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install -q -r requirements.txt > .venv/pip.log 2>&1 || { cat .venv/pip.log; exit 1; }
  echo "$want" > .venv/.requirements.sha256
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" WANDB_MODE="${WANDB_MODE:-offline}"

case "${1:-}" in
  demo)
    shift
    exec .venv/bin/python -m engine.demo "$@"
    ;;
  test)
    shift
    exec .venv/bin/python -m pytest -q tests "$@"
    ;;
  python)
    shift
    exec .venv/bin/python "$@"
    ;;
  *)
    echo "usage: bash run.sh demo | test | python ARGS..." >&2
    exit 2
    ;;
esac
