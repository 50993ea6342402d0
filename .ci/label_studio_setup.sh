#!/usr/bin/env bash
# Creates .venv-label-studio/ with the Label Studio server, apart from the project's .venv: label-studio pins its own
# Django/numpy/pydantic stack, which must never meet the project's torch/numpy pins. Only tests/test_label_studio.py
# uses it (it starts the server from this venv); the project talks to the server over plain HTTP.
#   bash .ci/label_studio_setup.sh          idempotent: a venv that already runs label-studio is kept
# It also migrates a template data dir (.venv-label-studio/template-data) that the test copies.
# Installs .ci/label_studio.txt with every transitive version from .ci/label_studio.lock (`bash .ci/lock.sh` remakes
# it). LABEL_STUDIO_VERSION tries another version, unlocked; PYTHON the interpreter (default python3.11).
set -euo pipefail
project=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
venv="$project/.venv-label-studio"
locked=$(sed -n 's/^label-studio==//p' "$project/.ci/label_studio.lock")
version=${LABEL_STUDIO_VERSION:-$locked}
if [ "$version" = "$locked" ]; then
  install=(-r "$project/.ci/label_studio.txt" -c "$project/.ci/label_studio.lock")
  stamp="$version $(sha256sum "$project/.ci/label_studio.lock" | cut -d' ' -f1)"
else
  install=("label-studio==$version")
  stamp="$version"
fi
python_bin=${PYTHON:-python3.11}

template="$venv/template-data"  # a data dir with the database already migrated: the test server starts in ~10 s
if [ -x "$venv/bin/label-studio" ] && [ "$(cat "$venv/.version" 2>/dev/null)" = "$stamp" ] \
    && [ -f "$template/label_studio.sqlite3" ]; then
  exit 0
fi
start=$(date +%s)
[ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip > "$venv/pip.log" 2>&1 || { cat "$venv/pip.log"; exit 1; }
"$venv/bin/python" -m pip install -q --no-cache-dir "${install[@]}" >> "$venv/pip.log" 2>&1 \
  || { tail -50 "$venv/pip.log"; exit 1; }
# Any command migrates the database first; `version` then just prints. About a minute, once.
rm -rf "$template" && mkdir -p "$template"
LABEL_STUDIO_BASE_DATA_DIR="$template" "$venv/bin/label-studio" version >> "$venv/pip.log" 2>&1 \
  || { tail -50 "$venv/pip.log"; exit 1; }
echo "$stamp" > "$venv/.version"
echo "label-studio $version installed into $venv in $(( $(date +%s) - start )) s" >&2
