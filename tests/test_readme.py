"""The README's commands and tour work as written.

The Quickstart is two commands in one bash block; the tour (the python block under "A short
tour") runs as a script and prints what it shows. The numbers checked were computed
independently: TravelMode's conditional logit ``choice ~ gc + ttme | hinc`` (car the
reference) maximised with scipy's BFGS on a hand-built design gives log-likelihood
-189.52515, ttme/gc = 8.735926 and mean own elasticities w.r.t. gc, the mean over
situations of b_gc gc_j (1 - P_j), of -0.801892 (air), -1.091586 (bus), -0.749183 (car) and
-1.069310 (train).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the README's ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block in ``text``."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", text, re.M | re.S)


def test_quickstart_is_two_commands() -> None:
    blocks = fenced_blocks(section("Quickstart"))
    assert [lang for lang, _ in blocks] == ["bash"], "the Quickstart holds exactly one bash block"
    commands = [line.strip() for line in blocks[0][1].splitlines() if line.strip()]
    assert commands == ['pip install -e ".[test]" && choicemodels compare', "python -m pytest"]


def test_tour_runs_as_a_script_and_prints_what_it_shows() -> None:
    blocks = [body for lang, body in fenced_blocks(section("A short tour")) if lang == "python"]
    assert len(blocks) == 1, "the tour is one python block"
    code = blocks[0]
    # every statement of the tour that computes a value shows it
    bare = [line for line in code.splitlines() if re.match(r"(logit|probit|nested|cm)\.\w+\(", line)]
    assert not bare, f"the tour computes without printing: {bare}"

    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"the tour failed:\n{done.stderr[-3000:]}"
    out = done.stdout

    # the logit summary: its header, the fit and every coefficient of the formula
    assert re.search(r"^.*\bLogit\b.*\bresults\b.*$", out, re.M | re.I), out[:2000]
    assert re.search(r"Log-likelihood:?\s+-189\.525", out, re.I)
    for name in ("gc", "ttme", "(Intercept):air", "(Intercept):bus", "(Intercept):train",
                 "hinc:air", "hinc:bus", "hinc:train"):
        assert re.search(rf"^\s*{re.escape(name)}\s+-?\d", out, re.M), f"no row for {name}"
    # the probit's error covariance (reference car differenced out): air, bus, train
    assert re.search(r"^\s+air\s+bus\s+train\s*$", out, re.M)
    # the comparison of the three models: the Vuong tests and the LR test of logit against nested logit
    assert "probit (unstructured)" in out and "nested logit" in out and "Vuong" in out
    assert re.search(r"logit vs nested logit", out) and "LR (nested)" in out
    # the logit elasticities w.r.t. gc, printed last before the Gumbel-max check: rows air,
    # bus, car, train; the own elasticities on the diagonal
    number = r"\s+(-?\d+\.\d+)"
    rows = re.findall(rf"^(air|bus|car|train){number * 4}\s*$", out, re.M)[-4:]
    assert [r[0] for r in rows] == ["air", "bus", "car", "train"]
    own = [float(r[1 + i]) for i, r in enumerate(rows)]
    assert own == pytest.approx([-0.801892, -1.091586, -0.749183, -1.069310], abs=2e-6)
    # willingness to pay: the coefficient ratio with its standard error
    assert re.search(r"^ttme / gc\s+8\.7359\s+\d+\.\d+\s+", out, re.M)  # estimate, then std err
    # the Gumbel-max check: frequencies consistent with the softmax at 1,000,000 draws
    match = re.search(r"p-value = ([\d.]+) \(1000000 draws", out)
    assert match, out[-1000:]
    assert float(match.group(1)) > 0.001
