"""The command line: compare, fit, simulate, gumbel-max; errors without tracebacks."""

from __future__ import annotations

import io
import json
import re
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
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--format", "json")
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
     (["simulate", "--n-alts", "3", "--errors", "normal", "--error-cov", "1", "0", "0", "1"], "9 numbers"),
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


# ---- version, data sources ------------------------------------------------------------

TRAVEL = ["--formula", "choice ~ gc + ttme | hinc", "--obs", "individual", "--alt", "mode", "--ref", "car"]


def fitted(out: str) -> tuple[pd.Series, pd.Series, dict]:
    """Coefficients, standard errors and the whole record of ``fit --format json``."""
    record = json.loads(out)
    names = record["param_names"]
    params = pd.Series(record["estimates"], index=names)
    bse = pd.Series(np.sqrt(np.diag(np.asarray(record["covariance"], dtype=float))), index=names)
    return params, bse, record


@pytest.fixture(scope="module")
def travel_logit():
    return Logit("choice ~ gc + ttme | hinc", load_travel_mode(), **COLS).fit()


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out == f"choicemodels {version('choicemodels')}\n"
    assert re.fullmatch(r"choicemodels \d+\.\d+\.\d+\S*\n", out)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_separator_is_sniffed_or_given(capsys, tmp_path, travel_logit, sep):
    path = tmp_path / "travel.csv"
    load_travel_mode().to_csv(path, sep=sep, index=False)
    for extra in ([], ["--sep", sep]):
        code, out, err = run(capsys, "fit", "--data", str(path), *TRAVEL, *extra, "--format", "json")
        assert code == 0, err
        params, _, record = fitted(out)
        assert record["nobs"] == 210
        assert record["llf"] == pytest.approx(travel_logit.llf, rel=1e-10)
        assert params["ttme"] == pytest.approx(travel_logit.params["ttme"], rel=1e-8)


def test_wrong_separator_names_the_missing_column(capsys, tmp_path):
    path = tmp_path / "travel.csv"
    load_travel_mode().to_csv(path, sep=";", index=False)
    code, _, err = run(capsys, "fit", "--data", str(path), *TRAVEL, "--sep", ",")
    assert code == 2
    assert err.startswith(f"error: {path} reads as a single column 'individual;mode;")
    assert "--sep" in err


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_by_extension(capsys, tmp_path, travel_logit, suffix):
    pytest.importorskip("pyarrow")
    path = tmp_path / f"travel{suffix}"
    load_travel_mode().to_parquet(path, index=False)
    code, out, err = run(capsys, "fit", "--data", str(path), *TRAVEL, "--format", "json")
    assert code == 0, err
    assert fitted(out)[2]["llf"] == pytest.approx(travel_logit.llf, rel=1e-10)


def test_parquet_that_is_not_parquet(capsys, tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "travel.parquet"
    load_travel_mode().to_csv(path, index=False)
    code, _, err = run(capsys, "fit", "--data", str(path), *TRAVEL)
    assert code == 2
    assert err.startswith(f"error: cannot read {path} as Parquet")


def test_every_bundled_dataset_has_defaults_or_asks_for_them(capsys):
    for name in cm.datasets.list_datasets():
        code, out, err = run(capsys, "fit", "--dataset", name, "--format", "json")
        if code == 2:
            assert err.startswith(f"error: --dataset {name} needs --formula"), err
        else:
            assert code == 0, err
            assert fitted(out)[2]["nobs"] > 0


def test_dataset_travel_mode_is_the_default(capsys, travel_logit):
    outs = []
    for argv in (["fit"], ["fit", "--dataset", "travel_mode"]):
        code, out, err = run(capsys, *argv, "--format", "json")
        assert code == 0, err
        outs.append(fitted(out)[2])
    assert outs[0]["llf"] == outs[1]["llf"] == pytest.approx(travel_logit.llf, rel=1e-10)


def test_dataset_synthetic_logit_recovers_its_truth(capsys):
    truth = json.loads((REPO / "data" / "synthetic_truth.json").read_text())["synthetic_logit"]
    code, out, err = run(capsys, "fit", "--dataset", "synthetic_logit", "--format", "json")
    assert code == 0, err
    params, bse, record = fitted(out)
    assert record["nobs"] == truth["n_obs"] == 3000
    assert record["spec"]["formula"] == truth["formula"]
    true = pd.Series(truth["params"])
    assert sorted(params.index) == sorted(true.index)
    assert (np.abs(params[true.index] - true) < 3 * bse[true.index]).all()


def test_dataset_fishing_fits_mlogits_first_example(capsys):
    code, out, err = run(capsys, "fit", "--dataset", "fishing", "--format", "json")
    assert code == 0, err
    record = fitted(out)[2]
    assert record["spec"]["formula"] == "mode ~ price + catch" and record["nobs"] == 1182
    # mlogit's printed log-likelihood of this model: -1230.8 (Croissant's vignette)
    assert round(record["llf"], 1) == -1230.8


def test_dataset_electricity_fits_the_logit_of_its_mixed_logit_example(capsys):
    code, out, err = run(capsys, "fit", "--dataset", "electricity", "--format", "json")
    assert code == 0, err
    params, _, record = fitted(out)
    assert record["spec"]["formula"] == "choice ~ pf + cl + loc + wk + tod + seas | 0"
    assert record["nobs"] == 4308
    assert sorted(params.index) == sorted(["pf", "cl", "loc", "wk", "tod", "seas"])
    # Revelt and Train: price, contract length, TOD and seasonal rates are disliked,
    # local and well-known suppliers liked
    assert (params[["pf", "cl", "tod", "seas"]] < 0).all() and (params[["loc", "wk"]] > 0).all()


def test_dataset_swissmetro_needs_a_formula_and_is_reshaped_long(capsys):
    code, _, err = run(capsys, "fit", "--dataset", "swissmetro")
    assert code == 2
    assert err.startswith("error: --dataset swissmetro needs --formula as well")
    assert "CHOICE" in err and "TT" in err and "CO" in err
    code, out, err = run(capsys, "fit", "--dataset", "swissmetro", "--formula", "CHOICE ~ I(TT / 100) | 1",
                         "--ref", "CAR", "--format", "json")
    assert code == 0, err
    params, _, record = fitted(out)
    assert record["nobs"] == 10728 - 9  # the 9 situations with CHOICE = 0 are dropped
    assert record["alternatives"] == ["CAR", "SM", "TRAIN"]
    assert params["I(TT / 100)"] < 0


def test_unknown_dataset(capsys):
    code, _, err = run(capsys, "fit", "--dataset", "travel_modes")
    assert code == 2
    assert "unknown dataset 'travel_modes'" in err and "'travel_mode'" in err


def test_data_and_dataset_are_exclusive(capsys, travel_csv):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--data", str(travel_csv), "--dataset", "travel_mode"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_sep_without_data(capsys):
    code, _, err = run(capsys, "fit", "--dataset", "travel_mode", "--sep", ";")
    assert code == 2 and "--sep" in err


# ---- covariance types ------------------------------------------------------------------


def _sandwich(model, params: pd.Series, groups: np.ndarray | None = None) -> pd.Series:
    """Robust or cluster standard errors from the model's Hessian and per-situation scores."""
    x = params.to_numpy()
    bread = np.linalg.inv(-model.hessian(x))
    scores = model.score_obs(x)
    if groups is None:
        meat = scores.T @ scores
    else:
        labels = np.unique(groups)
        sums = np.array([scores[groups == g].sum(axis=0) for g in labels])
        meat = len(labels) / (len(labels) - 1) * sums.T @ sums
    return pd.Series(np.sqrt(np.diag(bread @ meat @ bread)), index=params.index)


@pytest.fixture(scope="module")
def shuffled_csv(tmp_path_factory) -> Path:
    """TravelMode with the rows shuffled (situations interleaved) and a cluster column."""
    df = load_travel_mode().sample(frac=1.0, random_state=7).reset_index(drop=True)
    df["region"] = "r" + (df["individual"] % 7).astype(str)
    df["gap"] = df["region"].where(df.index != 5)
    path = tmp_path_factory.mktemp("cli") / "shuffled.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_robust_and_cluster_standard_errors(capsys, shuffled_csv):
    df = pd.read_csv(shuffled_csv)
    model = Logit("choice ~ gc + ttme | hinc", df, **COLS)
    argv = ["fit", "--data", str(shuffled_csv), *TRAVEL, "--format", "json"]
    code, out, err = run(capsys, *argv, "--cov-type", "robust")
    assert code == 0, err
    params, robust, record = fitted(out)
    assert record["cov_type"] == "robust"
    assert np.allclose(robust, _sandwich(model, params), rtol=1e-6)

    code, out, err = run(capsys, *argv, "--cov-type", "cluster", "--groups", "region")
    assert code == 0, err
    params, clustered, record = fitted(out)
    assert record["cov_type"] == "cluster"
    groups = np.asarray([f"r{i % 7}" for i in model.design.obs_ids])
    assert np.allclose(clustered, _sandwich(model, params, groups), rtol=1e-6)
    assert not np.allclose(clustered, robust, rtol=0.05)

    # one cluster per situation: the robust covariance times N / (N - 1)
    code, out, err = run(capsys, *argv, "--cov-type", "cluster", "--groups", "individual")
    assert code == 0, err
    assert np.allclose(fitted(out)[1], robust * np.sqrt(210 / 209), rtol=1e-8)


@pytest.mark.parametrize(
    ("options", "match"),
    [(["--cov-type", "cluster"], "--cov-type cluster needs --groups"),
     (["--groups", "region"], "--groups is used only with --cov-type cluster"),
     (["--cov-type", "cluster", "--groups", "regoin"], "'regoin'"),
     (["--cov-type", "cluster", "--groups", "gc"], "'gc' varies within 210 situations"),
     (["--cov-type", "cluster", "--groups", "gap"], "'gap' has 1 missing values")],
)
def test_cluster_option_errors(capsys, shuffled_csv, options, match):
    for command in ("fit", "compare"):
        code, _, err = run(capsys, command, "--data", str(shuffled_csv), *TRAVEL, *options)
        assert code == 2
        assert err.startswith("error: ") and match in err, err


def test_compare_robust(capsys, travel_logit):
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--cov-type", "robust", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    robust = Logit("choice ~ gc + ttme | hinc", load_travel_mode(), **COLS).fit(cov_type="robust")
    assert report["coefficients"]["gc"]["std err | logit"] == pytest.approx(robust.bse["gc"], rel=1e-8)
    assert robust.bse["gc"] != pytest.approx(travel_logit.bse["gc"], rel=0.01)


def test_compare_cluster_and_maxiter(capsys, shuffled_csv):
    """Needs compare_models(groups=..., maxiter=...) passed on to every fit."""
    argv = ["compare", "--data", str(shuffled_csv), *TRAVEL, "--probit-cov", "iid", "--format", "json"]
    code, out, err = run(capsys, *argv, "--cov-type", "robust")
    assert code == 0, err
    robust = json.loads(out)["coefficients"]
    code, out, err = run(capsys, *argv, "--cov-type", "cluster", "--groups", "individual")
    assert code == 0, err
    clustered = json.loads(out)["coefficients"]
    for name in ("gc", "ttme"):
        for model in ("logit", "probit (iid)"):
            key = f"std err | {model}"
            assert clustered[name][key] == pytest.approx(robust[name][key] * np.sqrt(210 / 209), rel=1e-6)
    code, out, err = run(capsys, *argv, "--maxiter", "1")
    assert code == 3
    assert "error: logit did not converge after 1 iterations" in err


# ---- convergence, alpha ---------------------------------------------------------------


def test_not_converged_exits_3_after_the_summary(capsys):
    code, out, err = run(capsys, "fit", "--maxiter", "1")
    assert code == 3
    assert "Logit results" in out and re.search(r"Converged:\s+False", out)
    assert re.search(r"Iterations:\s+1\b", out)
    assert err.count("\n") == 1
    assert err.startswith("error: Logit did not converge after 1 iterations: ")
    code, out, err = run(capsys, "fit", "--maxiter", "50")
    assert code == 0 and err == ""
    assert re.search(r"Converged:\s+True", out)


def test_alpha_sets_the_interval_level(capsys, travel_logit):
    from scipy import stats

    code, out, err = run(capsys, "fit", "--alpha", "0.1")
    assert code == 0, err
    header = next(line for line in out.splitlines() if "std err" in line)
    assert header.split()[-2:] == ["[0.05", "0.95]"]
    z = stats.norm.ppf(0.95)
    for name in ("gc", "ttme", "hinc:train"):
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        lo, hi = map(float, row.split()[-2:])
        b, se = travel_logit.params[name], travel_logit.bse[name]
        assert lo == pytest.approx(b - z * se, abs=5.1e-4)  # printed to 3 decimals, as statsmodels does
        assert hi == pytest.approx(b + z * se, abs=5.1e-4)  # printed to 3 decimals, as statsmodels does


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.1"])
def test_alpha_outside_0_1(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--alpha", value])
    assert exc.value.code == 2
    assert "--alpha" in capsys.readouterr().err


# ---- output formats ---------------------------------------------------------------------


def test_format_text_is_the_summary(capsys, travel_logit):
    code, out, err = run(capsys, "fit", "--alpha", "0.1", "--format", "text")
    assert code == 0, err
    assert out == travel_logit.summary(alpha=0.1).as_text() + "\n"
    code, default, _ = run(capsys, "fit", "--alpha", "0.1")
    assert default == out


def test_format_json_and_the_deprecated_json_flag(capsys, travel_logit):
    code, out, err = run(capsys, "fit", "--format", "json")
    assert code == 0 and err == ""
    params, bse, _ = fitted(out)
    assert np.allclose(params, travel_logit.params, rtol=1e-10)
    assert np.allclose(bse, travel_logit.bse, rtol=1e-8)
    code, old, err = run(capsys, "fit", "--json")
    assert code == 0
    assert err == "warning: --json is deprecated and will be removed; use --format json\n"
    assert json.loads(old)["estimates"] == json.loads(out)["estimates"]


def shows_estimates_and_90_percent_intervals(out: str, result) -> None:
    """``out`` shows the estimates to 4 decimals and the bounds of 90% intervals to 3 (or
    better), as statsmodels' summary tables print them."""
    from scipy import stats

    shown = np.array([float(x) for x in re.findall(r"-?\d+\.\d+(?:[eE][-+]?\d+)?", out)])
    z = stats.norm.ppf(0.95)
    for name in ("gc", "ttme", "hinc:train"):
        b, se = result.params[name], result.bse[name]
        for value, half_unit in ((b, 5.1e-5), (b - z * se, 5.1e-4), (b + z * se, 5.1e-4)):
            assert np.abs(shown - value).min() <= half_unit, (name, value)


def _compare_api():
    from choicemodels.compare import compare_models

    return compare_models("choice ~ gc + ttme | hinc", load_travel_mode(), **COLS, probit_cov="iid")


def _without_fit_times(text: str) -> str:
    """The rendering without its fit-time row, the one figure that differs between runs."""
    return "\n".join(line for line in text.rstrip("\n").splitlines() if "fit time" not in line)


def test_format_csv(capsys, travel_logit):
    code, out, err = run(capsys, "fit", "--alpha", "0.1", "--format", "csv")
    assert code == 0, err
    expected = travel_logit.summary(alpha=0.1).as_csv()
    assert out.rstrip("\n") == expected.rstrip("\n")
    assert all(name in out for name in travel_logit.params.index)
    shows_estimates_and_90_percent_intervals(out, travel_logit)
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--format", "csv")
    assert code == 0, err
    assert _without_fit_times(out) == _without_fit_times(_compare_api().summary().as_csv())


def test_format_latex(capsys, travel_logit):
    code, out, err = run(capsys, "fit", "--alpha", "0.1", "--format", "latex")
    assert code == 0, err
    assert out.rstrip("\n") == travel_logit.summary(alpha=0.1).as_latex().rstrip("\n")
    assert "\\begin{tabular}" in out and "\\end{tabular}" in out
    shows_estimates_and_90_percent_intervals(out, travel_logit)
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--format", "latex")
    assert code == 0, err
    assert _without_fit_times(out) == _without_fit_times(_compare_api().summary().as_latex())
    assert "\\begin{tabular}" in out


def test_format_markdown(capsys, travel_logit):
    code, out, err = run(capsys, "fit", "--alpha", "0.1", "--format", "markdown")
    assert code == 0, err
    assert out.rstrip("\n") == travel_logit.summary(alpha=0.1).as_markdown().rstrip("\n")
    assert re.search(r"^\|?\s*:?-{3,}:?\s*\|", out, flags=re.M)  # the header rule
    shows_estimates_and_90_percent_intervals(out, travel_logit)
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--format", "markdown")
    assert code == 0, err
    assert _without_fit_times(out) == _without_fit_times(_compare_api().summary().as_markdown())


# ---- one vocabulary: old spellings still work ------------------------------------------


def test_deprecated_spellings_map_to_the_new_options(capsys):
    from choicemodels.cli import build_parser

    args = build_parser().parse_args(["fit", "--cov", "unstructured"])
    assert args.probit_cov == "unstructured"
    assert capsys.readouterr().err == "warning: --cov is deprecated and will be removed; use --probit-cov\n"
    assert build_parser().parse_args(["fit", "--probit-cov", "heteroskedastic"]).probit_cov == "heteroskedastic"
    assert capsys.readouterr().err == ""

    sim = ["simulate", "--n-obs", "30", "--n-alts", "2", "--errors", "normal", "--rng", "2"]
    code, new, err = run(capsys, *sim, "--error-cov", "1", "0.5", "0.5", "2")
    assert code == 0 and err == ""
    code, old, err = run(capsys, *sim, "--cov", "1", "0.5", "0.5", "2")
    assert code == 0
    assert err == "warning: --cov is deprecated and will be removed; use --error-cov\n"
    assert old == new
    code, identity, _ = run(capsys, *sim)
    assert identity != new


def test_help_shows_the_new_spellings_only(capsys):
    for command, shown, hidden in (("fit", ["--probit-cov", "--cov-type", "--format", "--groups", "--maxiter",
                                           "--alpha", "--dataset", "--sep"], ["--cov ", "--json"]),
                                   ("compare", ["--probit-cov", "--cov-type", "--format", "--groups"], ["--json"]),
                                   ("simulate", ["--error-cov"], ["--cov "])):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert all(s in out for s in shown), command
        assert not any(h in out for h in hidden), command


# ---- pipes, Ctrl-C, missing matplotlib --------------------------------------------------


def test_simulate_into_a_closed_pipe_ends_quietly():
    # about 9 MB of CSV: far more than a pipe buffer, so the writer meets the closed pipe
    proc = subprocess.Popen([sys.executable, "-m", "choicemodels", "simulate", "--n-obs", "150000"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    assert first == b"obs,alt,choice,x1,x2\n"
    assert err == b""


def test_simulate_piped_into_head_in_a_shell(tmp_path):
    shell = "/bin/bash"
    if not Path(shell).exists():
        pytest.skip("needs bash")
    command = (f"set -o pipefail; '{sys.executable}' -m choicemodels simulate --n-obs 150000 | head -1; "
               "echo status=$?")
    proc = subprocess.run([shell, "-c", command], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.stdout == "obs,alt,choice,x1,x2\nstatus=0\n"
    assert proc.stderr == ""


def test_ctrl_c_prints_interrupted_and_exits_130(capsys, monkeypatch):
    import choicemodels.simulate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(choicemodels.simulate, "simulate_dataset", interrupted)
    code, out, err = run(capsys, "simulate")
    assert code == 130
    assert err == "interrupted\n" and out == ""


def test_plot_without_matplotlib_names_the_extra(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run(capsys, "compare", "--probit-cov", "iid", "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert err == 'error: --plot needs matplotlib: pip install "choicemodels[plot]"\n'
    assert out == "" and not (tmp_path / "x.png").exists()


def test_sampling_weights_from_the_command_line(capsys, tmp_path):
    df = load_travel_mode()
    df["w"] = df.groupby("individual")["hinc"].transform("first") / 30 + 0.5
    path = tmp_path / "weighted.csv"
    df.to_csv(path, index=False)
    argv = ["fit", "--data", str(path), "--formula", "choice ~ gc + ttme | hinc",
            "--obs", "individual", "--alt", "mode", "--ref", "car", "--weights", "w"]
    code, out, err = run(capsys, *argv)
    assert code == 2 and "weight_type='sampling'" in err  # fractional frequency weights refused
    code, out, err = run(capsys, *argv, "--weight-type", "sampling", "--format", "json")
    assert code == 0, err
    ref = Logit("choice ~ gc + ttme | hinc", df, **COLS, weights="w", weight_type="sampling").fit()
    got = json.loads(out)
    assert got["cov_type"] == "robust" and got["spec"]["weight_type"] == "sampling"
    np.testing.assert_allclose(got["estimates"], ref.estimates, rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(got["covariance"])), ref.bse, rtol=1e-12)


def test_fit_prints_the_summary_before_saving(capsys, tmp_path):
    target = tmp_path / "missing-folder" / "results.json"  # cannot be written
    code, out, err = run(capsys, "fit", "--save", str(target))
    assert "Logit results" in out  # the fit is shown although the save failed
    assert code != 0 and str(target) in err
    ok = tmp_path / "results.json"
    code, out, err = run(capsys, "fit", "--save", str(ok))
    assert code == 0 and cm.load_results(ok).llf == pytest.approx(
        float(re.search(r"Log-likelihood:\s+(-?[\d.]+)", out).group(1)), abs=1e-4)


# ---- the nested logit on the command line ---------------------------------------------
NESTS = "fly=air;ground=train,bus,car"
NESTS_DICT = {"fly": ["air"], "ground": ["train", "bus", "car"]}


def test_compare_nests_fits_logit_nested_and_probit(capsys):
    pytest.importorskip("choicemodels.models.probit")
    code, out, err = run(capsys, "compare", "--nests", NESTS, "--probit-cov", "iid", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    df = load_travel_mode()
    logit = Logit("choice ~ gc + ttme | hinc", df, **COLS).fit()
    nested = cm.NestedLogit("choice ~ gc + ttme | hinc", df, **COLS, nests=NESTS_DICT).fit()
    assert report["models"] == ["logit", "nested logit", "probit (iid)"]
    assert report["fit"]["nested logit"]["log-likelihood"] == pytest.approx(nested.llf, rel=1e-10)
    lr = report["tests"]["logit vs nested logit"]
    assert lr["test"] == "LR (nested)" and lr["df"] == 1
    assert lr["statistic"] == pytest.approx(2 * (nested.llf - logit.llf), rel=1e-8)
    assert report["tests"]["nested logit vs probit (iid)"]["test"] == "Vuong"
    assert report["cross_elasticities"]["bus -> car"]["same nest"] is True
    assert report["cross_elasticities"]["bus -> air"]["same nest"] is False
    assert report["nest_substitution"]["nested logit"]["within / across"] > 1.5


@pytest.mark.parametrize("fmt, needle", [
    ("text", "Substitution within and across nests"),
    ("markdown", "**Substitution within and across nests (cross-elasticities)**"),
    ("csv", "changed,responding,same nest,logit,nested logit"),
])
def test_compare_models_option_and_formats(capsys, fmt, needle):
    code, out, err = run(capsys, "compare", "--models", "logit,nested", "--nests", NESTS, "--format", fmt)
    assert code == 0, err
    assert needle in out
    assert "probit (iid)" not in out and "nested logit" in out


def test_compare_nests_in_a_csv_with_numeric_labels(capsys, tmp_path):
    # labels read from a CSV as numbers still match the text of --nests
    df = load_travel_mode()
    df["mode"] = df["mode"].map({"air": 1, "train": 2, "bus": 3, "car": 4})
    path = tmp_path / "numeric.csv"
    df.to_csv(path, index=False)
    code, out, err = run(capsys, "compare", "--data", str(path), "--formula", "choice ~ gc + ttme | hinc",
                         "--obs", "individual", "--alt", "mode", "--ref", "4",
                         "--models", "logit,nested", "--nests", "fly=1;ground=2,3,4", "--format", "json")
    assert code == 0, err
    nested = cm.NestedLogit("choice ~ gc + ttme | hinc", df, obs="individual", alt="mode", ref=4,
                            nests={"fly": [1], "ground": [2, 3, 4]}).fit()
    assert json.loads(out)["fit"]["nested logit"]["log-likelihood"] == pytest.approx(nested.llf, rel=1e-10)


def test_fit_nested_and_simulate_nested(capsys, tmp_path):
    code, out, err = run(capsys, "fit", "--model", "nested", "--nests", NESTS, "--format", "json")
    assert code == 0, err
    nested = cm.NestedLogit("choice ~ gc + ttme | hinc", load_travel_mode(), **COLS, nests=NESTS_DICT).fit()
    report = json.loads(out)
    assert report["model_name"] == "NestedLogit" and report["param_names"][-1] == "iv:ground"
    assert report["estimates"][-1] == pytest.approx(nested.params["iv:ground"], rel=1e-8)
    csv = tmp_path / "nested.csv"
    code, out, err = run(capsys, "simulate", "--n-obs", "400", "--errors", "nested", "--nests", "a=alt0;b=alt1,alt2",
                         "--iv", "1", "0.5", "--rng", "2", "--out", str(csv))
    assert code == 0, err
    sim = cm.simulate_dataset(400, 3, [1.0, -0.5], errors="nested", nests={"a": ["alt0"], "b": ["alt1", "alt2"]},
                              iv=[1.0, 0.5], rng=2)
    pd.testing.assert_frame_equal(pd.read_csv(csv), sim.data, check_dtype=False)


@pytest.mark.parametrize(("argv", "match"), [
    (["compare", "--models", "logit,nested"], "--models includes nested, which needs --nests"),
    (["compare", "--models", "logit,cnl"], "--models: unknown name(s) ['cnl']"),
    (["compare", "--models", "logit,probit", "--nests", NESTS], "--nests applies to the nested logit; add nested"),
    (["compare", "--equal-iv"], "--equal-iv applies to the nested logit"),
    (["compare", "--nests", "fly:air"], "nest 'fly:air' has no '='"),
    (["compare", "--nests", "fly=air;;ground=train,bus,car"], "has an empty nest"),
    (["compare", "--nests", "fly=;ground=train,bus,car"], "nest 'fly' is empty"),
    (["compare", "--nests", "=air;ground=train,bus,car"], "has no name before '='"),
    (["compare", "--nests", "fly=air;ground=train,,car"], "empty alternative in 'train,,car'"),
    (["compare", "--nests", "fly=air,bus;ground=train,bus,car"], "'bus' is in nests 'fly' and 'ground'"),
    (["compare", "--nests", "fly=air;fly=train,bus,car"], "nest 'fly' is given twice"),
    (["compare", "--nests", "fly=air;ground=train,bus"], "['car'] are in no nest"),
    (["compare", "--nests", "fly=air,plane;ground=train,bus,car"], "'plane' (nest 'fly')"),
    (["fit", "--model", "nested"], "--model nested needs --nests"),
    (["fit", "--nests", NESTS], "apply to --model nested, not --model logit"),
    (["simulate", "--errors", "nested", "--nests", "a=alt0;b=alt1,alt2"], "--errors nested needs --nests"),
    (["simulate", "--iv", "0.5"], "--nests and --iv apply to --errors nested"),
    (["simulate", "--errors", "nested", "--nests", "a=alt0;b=alt1,alt2", "--iv", "0.5"], "one value per nest"),
])
def test_nested_bad_input_exits_2(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and match in err and "Traceback" not in err


def test_cli_model_names_are_the_runners():
    from choicemodels.cli import MODEL_NAMES
    from choicemodels.compare import MODEL_NAMES as RUNNER_NAMES

    assert MODEL_NAMES == RUNNER_NAMES


def test_gumbel_max_nested(capsys):
    code, out, err = run(capsys, "gumbel-max", "-V", "1", "0", "-1", "--errors", "nested", "--nests", "a=0,1;b=2",
                         "--iv", "0.4", "1", "--draws", "200000", "--rng", "4")
    assert code == 0, err
    check = cm.gumbel_max_check([1.0, 0.0, -1.0], draws=200_000, errors="nested", nests={"a": [0, 1], "b": [2]},
                                iv=[0.4, 1.0], rng=4)
    assert out.strip() == str(check).strip()
    # the nested logit of V: log-sum-exp of the nest {0, 1} at iv 0.4 against alternative 2
    s = np.exp(1 / 0.4) + np.exp(0 / 0.4)
    p0 = np.exp(1 / 0.4) / s * s**0.4 / (s**0.4 + np.exp(-1.0))
    assert check.probabilities[0] == pytest.approx(p0, rel=1e-12)
    assert check.p_value > 1e-4


@pytest.mark.parametrize(("argv", "match"), [
    (["gumbel-max", "--errors", "nested", "--nests", "a=x,1;b=2", "--iv", "0.4", "1"], "['x'] are not alternative indices"),
    (["gumbel-max", "--errors", "nested", "--iv", "0.4", "1"], "--errors nested needs --nests"),
    (["gumbel-max", "--iv", "0.4", "1"], "--nests and --iv apply to --errors nested"),
    (["gumbel-max", "--errors", "nested", "--nests", "a=0,1;b=5", "--iv", "0.4", "1"], "names alternative 5"),
])
def test_gumbel_max_nested_bad_input(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2 and match in err and "Traceback" not in err


# ---- the mixed logit: --random, --panel --------------------------------------------------
def test_compare_random_adds_the_mixed_logit(capsys):
    code, out, err = run(capsys, "compare", "--random", "ttme=normal", "--draws", "50",
                         "--probit-cov", "iid", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["models"] == ["logit", "mixed logit", "probit (iid)"]
    df = load_travel_mode()
    mixed = cm.MixedLogit("choice ~ gc + ttme | hinc", df, **COLS, random={"ttme": "normal"}, draws=50,
                          rng=0).fit()
    logit = Logit("choice ~ gc + ttme | hinc", df, **COLS).fit()
    assert report["fit"]["mixed logit"]["log-likelihood"] == pytest.approx(mixed.llf, rel=1e-10)
    lr = report["tests"]["logit vs mixed logit"]
    assert lr["test"] == "LR (boundary)"
    assert lr["statistic"] == pytest.approx(2 * (mixed.llf - logit.llf), rel=1e-8)


def test_fit_mixed_on_a_panel_csv(capsys, tmp_path):
    rng = np.random.default_rng(8)
    P, T, J = 80, 4, 3
    x = rng.standard_normal((P * T, J))
    b = np.repeat(1.0 + rng.standard_normal(P), T)
    chosen = cm.simulate_choices(b[:, None] * x, rng=8)
    df = pd.DataFrame({"sit": np.repeat(np.arange(P * T), J), "person": np.repeat(np.arange(P), T * J),
                       "alt": np.tile(["a", "b", "c"], P * T), "x": x.ravel(),
                       "choice": (np.tile(np.arange(J), P * T) == np.repeat(chosen, J)).astype(int)})
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    code, out, err = run(capsys, "fit", "--model", "mixed", "--data", str(path), "--formula", "choice ~ x | 0",
                         "--obs", "sit", "--alt", "alt", "--random", "x=normal", "--panel", "person",
                         "--draws", "40", "--sequence", "mlhs", "--rng", "3", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    direct = cm.MixedLogit("choice ~ x | 0", df, obs="sit", alt="alt", random={"x": "normal"}, panel="person",
                           draws=40, sequence="mlhs", rng=3).fit()
    assert report["llf"] == pytest.approx(direct.llf, rel=1e-10)
    assert report["cov_type"] == "cluster"


@pytest.mark.parametrize(("argv", "match"), [
    (["fit", "--random", "ttme=normal"], "--random applies to the mixed logit; use --model mixed"),
    (["fit", "--model", "mixed"], "the mixed logit needs --random"),
    (["fit", "--model", "logit", "--panel", "individual"], "--panel applies to the mixed logit"),
    (["compare", "--models", "logit,mixed"], "the mixed logit needs --random"),
    (["compare", "--models", "logit,probit", "--random", "gc=normal"],
     "--random applies to the mixed logit; add mixed to --models (e.g. --models logit,probit,mixed)"),
    (["compare", "--random", "ttme=norm"], "--random: unknown distribution 'norm' for 'ttme'"),
    (["compare", "--random", "ttme"], "--random: 'ttme' has no '='"),
    (["compare", "--random", "ttme=normal,,gc=normal"], "has an empty entry"),
    (["compare", "--random", "=normal"], "has no coefficient name"),
    (["compare", "--random", "ttme=normal,-ttme=lognormal"], "coefficient 'ttme' is given twice"),
    (["fit", "--model", "mixed", "--random", "price=normal"], "random coefficient(s) ['price'] are not in the formula"),
    (["fit", "--model", "mixed", "--random", "gc=normal", "--panel", "nobody"], "panel column 'nobody' is not in the data"),
    (["fit", "--model", "mixed", "--random", "gc=normal", "--draws", "0"], "draws must be an int >= 1"),
])
def test_mixed_bad_input_exits_2(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and match in err and "Traceback" not in err
