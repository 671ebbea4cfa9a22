#!/usr/bin/env bash
# Create a separate virtual environment with the peer packages the logit benchmark
# compares against (xlogit, larch, pylogit, biogeme). Kept apart from the project's
# environment because the peers pin old or conflicting versions.
#
# Usage: bash benchmarks/setup_peers.sh [VENV_DIR]   (default: benchmarks/.peers-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-${PEERS_VENV:-$here/.peers-venv}}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet numpy pandas scipy
# biogeme 3.3 fails to import with newer tomlkit releases
"$venv/bin/python" -m pip install --quiet xlogit larch pylogit biogeme "tomlkit==0.13.3"
"$venv/bin/python" - <<'PY'
import importlib
for name in ("numpy", "pandas", "scipy", "xlogit", "larch", "pylogit", "biogeme"):
    try:
        mod = importlib.import_module(name)
        print(f"{name:10s} {getattr(mod, '__version__', '?')}")
    except Exception as exc:  # report, do not stop: the benchmark skips missing peers
        print(f"{name:10s} import failed: {type(exc).__name__}: {exc}")
PY
echo "peers venv ready: $venv"
