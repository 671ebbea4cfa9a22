"""A benchmark times each package in a fresh process: the script runs itself with
``--child ...`` under that package's interpreter (ours, or the peers' virtual environment),
in a temporary working directory (Biogeme writes files into it); the child prints one line
``RESULT <json>``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child_result(script: str, python: Path, args: list, timeout: float) -> dict:
    """``python script --child *args``: the child's RESULT as a dict, or ``{"error": ...}``
    (no interpreter, timed out, or the last line the child wrote to stderr)."""
    if not python.exists():
        return {"error": "no peers venv: bash benchmarks/setup_peers.sh"}
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) if python == Path(sys.executable) else ""
    with tempfile.TemporaryDirectory() as work:
        try:
            proc = subprocess.run(
                [str(python), str(Path(script).resolve()), "--child", *map(str, args)],
                cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": tail[:200]}
