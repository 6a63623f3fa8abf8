#!/bin/sh
# Makes (once) the virtual environment of the Python tests and benches from
# tests/requirements.txt, with Debian's /usr/bin/python3, and prints its
# directory. Kept in ~/.cache/sweep/venv-HASH (HASH: of the requirements),
# so a change of a pin makes a new one and a clean build keeps it.
#   scripts/venv.sh            make it if missing, print its path
#   . "$(scripts/venv.sh)/bin/activate"
# Env: SWEEP_VENV (use this directory instead), SWEEP_CACHE (~/.cache/sweep).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
req="$root/tests/requirements.txt"
py=/usr/bin/python3
hash=$(cat "$req" | sha256sum | cut -c1-12)
dir=${SWEEP_VENV:-${SWEEP_CACHE:-$HOME/.cache/sweep}/venv-$hash}
if [ -x "$dir/bin/python" ] && [ -f "$dir/.complete" ]; then
    echo "$dir"
    exit 0
fi
echo "venv: making $dir from tests/requirements.txt" >&2
rm -rf "$dir" # an unfinished one
mkdir -p "$(dirname "$dir")"
"$py" -m venv "$dir" >&2
"$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
touch "$dir/.complete"
echo "$dir"
