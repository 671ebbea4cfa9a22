"""The command line: compare, fit, simulate, gumbel-max; errors without tracebacks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm
from choicemodels.cli import main
from choicemodels.datasets import load_travel_mode
from choicemodels.models.logit import Logit

REPO = Path(__file__).resolve().parents[1]
COLS = dict(obs="individual", alt="mode", ref="car")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def travel_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "travel.csv"
    load_travel_mode().to_csv(path, index=False)
    return path


def test_compare_json_matches_the_api(capsys):
    Probit = pytest.importorskip("choicemodels.models.probit").Probit
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--json")
    assert code == 0, err
    report = json.loads(out)
    df = load_travel_mode()
    logit = Logit("choice ~ gc + ttme | hinc", df, **COLS).fit()
    probit = Probit("choice ~ gc + ttme | hinc", df, **COLS, cov="iid", rng=0).fit()
    assert report["models"] == ["logit", "probit (iid)"]
    assert report["fit"]["logit"]["log-likelihood"] == pytest.approx(logit.llf, rel=1e-10)
    assert report["fit"]["probit (iid)"]["log-likelihood"] == pytest.approx(probit.llf, rel=1e-8)
    assert report["tests"]["logit vs probit (iid)"]["test"] == "Vuong"
    assert report["coefficients"]["ttme"]["coef | logit"] == pytest.approx(logit.params["ttme"], rel=1e-8)


def test_compare_own_csv_with_plot(capsys, travel_csv, tmp_path):
    pytest.importorskip("choicemodels.models.probit")
    png = tmp_path / "cmp.png"
    code, out, err = run(capsys, "compare", "--data", str(travel_csv), "--formula", "choice ~ gc | hinc",
                         "--obs", "individual", "--alt", "mode", "--ref", "car",
                         "--probit-cov", "iid", "--plot", str(png))
    assert code == 0, err
    assert "Comparison of 2 models: logit, probit (iid)" in out
    assert "Vuong" in out and "pi/sqrt(6)" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_then_fit_recovers_the_truth(capsys, tmp_path):
    csv, saved = tmp_path / "sim.csv", tmp_path / "fit.json"
    code, out, err = run(capsys, "simulate", "--n-obs", "3000", "--n-alts", "3", "--beta", "1", "-0.5",
                         "--rng", "3", "--out", str(csv))
    assert code == 0, err
    assert "fit with: choicemodels fit" in out
    code, out, err = run(capsys, "fit", "--data", str(csv), "--formula", "choice ~ x1 + x2 | 1",
                         "--obs", "obs", "--alt", "alt", "--save", str(saved))
    assert code == 0, err
    r = cm.load_results(saved)
    truth = pd.Series({"x1": 1.0, "x2": -0.5, "(Intercept):alt1": 0.0, "(Intercept):alt2": 0.0})
    assert (np.abs(r.params[truth.index] - truth) < 3 * r.bse[truth.index]).all()
    assert f"{r.llf:.4f}" in out


def test_simulate_to_stdout(capsys):
    code, out, err = run(capsys, "simulate", "--n-obs", "50", "--n-alts", "4", "--beta", "0.5",
                         "--errors", "normal", "--rng", "1")
    assert code == 0, err
    data = pd.read_csv(io.StringIO(out))
    assert data.shape[0] == 200
    assert (data.groupby("obs")["choice"].sum() == 1).all()


@pytest.mark.parametrize("errors", ["gumbel", "normal"])
def test_gumbel_max(capsys, errors):
    code, out, err = run(capsys, "gumbel-max", "-V", "1", "0", "-1", "--draws", "200000",
                         "--errors", errors, "--rng", "4")
    assert code == 0, err
    check = cm.gumbel_max_check([1.0, 0.0, -1.0], draws=200_000, errors=errors, rng=4)
    assert out.strip() == str(check).strip()
    assert (check.p_value > 1e-4) == (errors == "gumbel")


@pytest.mark.parametrize(
    ("argv", "match"),
    [(["fit", "--data", "no/such/file.csv", "--formula", "choice ~ x", "--obs", "o", "--alt", "a"], "no/such/file.csv"),
     (["compare", "--data", "{csv}"], "--formula, --obs, --alt"),
     (["fit", "--data", "{csv}", "--formula", "choice ~ price", "--obs", "individual", "--alt", "mode"], "price"),
     (["fit", "--data", "{csv}", "--formula", "choice ~ gc", "--obs", "person", "--alt", "mode"], "person"),
     (["fit", "--data", "{bad}", "--formula", "choice ~ gc", "--obs", "individual", "--alt", "mode"], ""),
     (["simulate", "--n-alts", "3", "--errors", "normal", "--cov", "1", "0", "0", "1"], "9 numbers"),
     (["gumbel-max", "--draws", "0"], "draws")],
)
def test_bad_input_exits_2_without_traceback(capsys, travel_csv, tmp_path, argv, match):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"individual,mode,choice\n1,air\x00\xff\xfe,0,9,9\n\"unclosed")
    argv = [a.format(csv=travel_csv, bad=bad) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ")
    assert match in err
    assert "Traceback" not in err


def test_help(capsys):
    for argv in (["--help"], ["compare", "--help"], ["fit", "--help"], ["simulate", "--help"],
                 ["gumbel-max", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert "usage: choicemodels" in capsys.readouterr().out


def test_python_dash_m_is_the_same_program():
    proc = subprocess.run([sys.executable, "-m", "choicemodels", "fit", "--data", "missing.csv",
                           "--formula", "y ~ x", "--obs", "o", "--alt", "a"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "error: no such file: missing.csv\n"


@pytest.mark.slow
def test_default_compare_runs_logit_and_two_probits():
    proc = subprocess.run([sys.executable, "-m", "choicemodels", "compare"], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Comparison of 3 models: logit, probit (iid), probit (unstructured)" in proc.stdout
