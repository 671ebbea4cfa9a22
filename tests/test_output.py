"""What a person reads: result objects print as tables (console, notebook), the summary's
content, its LaTeX / CSV / Markdown forms, number formatting, the probit error covariance
with delta-method standard errors, the comparison figure and the progress bars."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import choicemodels as cm
from choicemodels.datasets import load_travel_mode
from choicemodels.models.probit import error_covariance, error_covariance_se
from choicemodels.rendering import forg

COLS = dict(obs="individual", alt="mode", ref="car")
ALTS = ["air", "bus", "car", "train"]


@pytest.fixture(scope="module")
def travel():
    return load_travel_mode()


@pytest.fixture(scope="module")
def logit(travel):
    return cm.Logit("choice ~ gc + ttme | hinc", travel, **COLS).fit()


@pytest.fixture(scope="module")
def heteroskedastic():
    sim = cm.simulate_dataset(800, 3, {"x1": 1.0, "x2": -0.5}, errors="normal",
                              cov=np.diag([1.0, 2.0, 0.5]), rng=11)
    return cm.Probit(sim.formula, data=sim.data, **sim.columns, cov="heteroskedastic").fit()


@pytest.fixture(scope="module")
def unstructured():
    cov = np.array([[1.0, 0.0, 0.0], [0.0, 1.5, 0.8], [0.0, 0.8, 1.2]])
    sim = cm.simulate_dataset(800, 3, {"x1": 1.0, "x2": -0.5}, errors="normal", cov=cov, rng=12)
    return cm.Probit(sim.formula, data=sim.data, **sim.columns, cov="unstructured").fit()


def _csv_blocks(text: str) -> dict[str, pd.DataFrame]:
    """The CSV form's blocks by title (first line of each block)."""
    out = {}
    for block in text.strip().split("\n\n"):
        title, _, body = block.partition("\n")
        out[title] = pd.read_csv(io.StringIO(body), index_col=0)
    return out


def _info(summary) -> dict[str, str]:
    return dict(summary.lead + summary.info + summary.info_right)


# ---- console and notebook display ------------------------------------------------------


def test_every_result_prints_as_its_table(travel, logit):
    bigger = cm.Logit("choice ~ gc + ttme | hinc | invt", travel, **COLS).fit()
    other = cm.Logit("choice ~ gc + ttme | psize", travel, **COLS).fit()
    objects = {
        "ChoiceResults": logit,
        "Summary": logit.summary(),
        "RatioResult": logit.wtp("ttme", "gc"),
        "TestResult": cm.lr_test(logit, bigger),
        "Comparison": cm.compare(logit, other),
        "GumbelMaxCheck": cm.gumbel_max_check([1.0, 0.0, -1.0], draws=10_000, rng=0),
        "MonteCarloResult": cm.monte_carlo(dgp=cm.DGP(beta=(1.0, -0.5)), n_obs=200, reps=2, rng=0,
                                           progress=False),
    }
    for name, obj in objects.items():
        text = repr(obj)
        assert text == str(obj), name
        assert not text.startswith(f"{name}(") and "=====" in text, name
        page = obj._repr_html_()
        assert "<table" in page and "</table>" in page, name
    # the numbers behind the tables
    text = repr(logit)
    for name, value in logit.params.items():
        assert name in text and forg(value, 4) in text
    assert f"{logit.llf:.4f}" in text
    ratio = logit.wtp("ttme", "gc")
    assert f"{ratio.estimate:.4f}" in repr(ratio) and forg(ratio.se, 3) in repr(ratio)
    lr = cm.lr_test(logit, bigger)
    assert forg(lr.statistic, 3) in repr(lr) and f" {lr.df:g} " in repr(lr)
    check = objects["GumbelMaxCheck"]
    assert all(f"{f:d}" in repr(check) for f in check.frequencies)


def test_html_escapes_labels_and_numbers_match_the_text(logit):
    page = logit._repr_html_()
    assert "<table>" in page and "P&gt;|z|" in page
    for name, value in logit.params.items():
        assert f"<th>{name}</th>" in page and f"<td>{forg(value, 4)}</td>" in page


# ---- number formatting -----------------------------------------------------------------


def test_forg_follows_statsmodels():
    assert forg(-3.2e-05) == "-3.2e-05"
    assert forg(0.123456) == "0.1235"
    assert forg(-12.3) == "-12.3000"
    assert forg(123456.0) == "1.235e+05"
    assert forg(0.0012345, 3) == "0.001"
    # where the decimals would show zero, significant figures (statsmodels: "-0.000")
    assert forg(-0.0003, 3) == "-0.0003" and forg(0.0, 3) == "0"


def test_tiny_coefficients_are_written_in_scientific_notation(travel):
    # income in units 1000 times smaller: hinc:air is about -5e-06
    r = cm.Logit("choice ~ gc + ttme | I(hinc * 1000)", travel, **COLS).fit()
    tiny = r.params["I(hinc * 1000):air"]
    assert 1e-7 < abs(tiny) < 1e-4
    text, page, latex = str(r), r._repr_html_(), r.summary().as_latex()
    signed_zero = re.compile(r"-0\.0*(?![0-9e])")
    assert not signed_zero.search(text) and not signed_zero.search(page) and not signed_zero.search(latex)
    shown = forg(tiny, 4)
    assert re.fullmatch(r"-\d\.\d{3}e-0\d", shown)
    assert shown in text and shown in page and shown in latex
    assert float(shown) == pytest.approx(tiny, rel=1e-3)


# ---- the summary's content -------------------------------------------------------------


def test_summary_carries_formula_shares_lr_test_and_optimiser(travel, logit):
    s = logit.summary()
    info = _info(s)
    assert info["Formula"] == "choice ~ gc + ttme | hinc" and info["Dep. variable"] == "choice"
    assert info["Weighting"] == "unweighted" and info["Optimizer"] == "Newton"
    assert info["Iterations"] == str(logit.n_iter) and logit.n_iter > 0
    # shares: the observed chosen shares, counted here from the data
    chosen = travel[travel["choice"] == 1]["mode"].value_counts()
    blocks = _csv_blocks(s.as_csv())
    shares = blocks["Chosen alternatives"]
    assert list(shares.index) == ALTS
    np.testing.assert_array_equal(shares["chosen"].to_numpy(), chosen[ALTS].to_numpy())
    np.testing.assert_allclose(shares["share"].to_numpy(), (chosen[ALTS] / 210).to_numpy(), rtol=1e-15)
    # LR test against constants only, whose log-likelihood is sum n_j log(n_j / N)
    n = chosen[ALTS].to_numpy(float)
    ll_constants = float(np.sum(n * np.log(n / n.sum())))
    df = logit.k_params - 3
    lr = float(info[f"LR chi2({df})"])
    assert lr == pytest.approx(2 * (logit.llf - ll_constants), abs=1e-4)
    assert float(info["LR p-value"]) == pytest.approx(stats.chi2.sf(lr, df), rel=1e-2)
    assert float(info["Pseudo R2 (McFadden)"]) == pytest.approx(1 - logit.llf / ll_constants, abs=1e-4)
    assert float(info["rho2"]) == pytest.approx(1 - logit.llf / (210 * np.log(0.25)), abs=1e-4)
    # the final gradient is the score at the estimate, computed again here
    g = np.linalg.norm(logit.model.score(logit.estimates))
    assert logit.gradient_norm == pytest.approx(g, rel=1e-6, abs=1e-12) and g < 1e-6
    assert info["Gradient norm"] == forg(g, 3)
    text = str(s)
    assert "equal shares" in text and "constants only" in text and "Biogeme" in text and "mlogit" in text


def test_weighting_and_weighted_shares(travel):
    first_hinc = travel.groupby("individual")["hinc"].transform("first")
    weights = {"frequency": first_hinc // 20 + 1, "sampling": first_hinc / 30 + 0.5}
    for kind, w in weights.items():
        data = travel.assign(w=w)
        r = cm.Logit("choice ~ gc + ttme | hinc", data, **COLS, weights="w", weight_type=kind).fit()
        s = r.summary()
        assert _info(s)["Weighting"] == f"weighted ({kind})"
        chosen = data[data["choice"] == 1].groupby("mode")["w"].sum()[ALTS]
        if kind == "sampling":  # normalised to sum to the number of situations
            chosen = chosen * 210 / chosen.sum()
        shares = _csv_blocks(s.as_csv())["Chosen alternatives (weighted)"]
        np.testing.assert_allclose(shares["weighted count"].to_numpy(), chosen.to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(shares["share"].to_numpy(), (chosen / chosen.sum()).to_numpy(),
                                   rtol=1e-12)
        assert f"weighted ({kind})" in str(r)


def test_summary_of_a_file_saved_before_the_new_fields(tmp_path, logit):
    raw = logit.to_dict()
    for key in ("optimizer", "gradient_norm", "choice_counts"):
        raw.pop(key)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    back = cm.load_results(path)
    text = str(back)
    assert "Optimizer:" in text and "n/a" in text and "Chosen alternatives" not in text
    assert f"{logit.llf:.4f}" in text


# ---- other forms -----------------------------------------------------------------------


def _check_latex(latex: str) -> int:
    """Every tabular is closed and each of its rows has as many cells as its column spec."""
    assert latex.count(r"\begin{tabular}") == latex.count(r"\end{tabular}") > 0
    tables = re.findall(r"\\begin\{tabular\}\{([lcr]+)\}(.*?)\\end\{tabular\}", latex, re.S)
    assert len(tables) == latex.count(r"\begin{tabular}")
    for spec, body in tables:
        rows = [line for line in body.splitlines() if line.rstrip().endswith(r"\\")]
        assert rows
        for row in rows:
            cells = len(re.findall(r"(?<!\\)&", row)) + 1
            assert cells == len(spec), row
    assert latex.count("{") == latex.count("}") + latex.count(r"\{") - latex.count(r"\}")
    return len(tables)


def test_latex_is_balanced_tabular_syntax(logit, unstructured):
    assert _check_latex(logit.summary().as_latex()) == 3  # facts, coefficients, shares
    latex = unstructured.summary().as_latex()
    assert _check_latex(latex) == 5  # + covariance and correlation of the error differences
    assert r"P$>" in latex and r"e\_j" in latex


def test_csv_reads_back_to_the_same_estimates(logit, unstructured):
    for r in (logit, unstructured):
        coef = _csv_blocks(r.summary().as_csv())["Coefficients"]
        pd.testing.assert_series_equal(coef["coef"], r.beta, check_names=False, check_exact=True)
        pd.testing.assert_series_equal(coef["std err"], r.bse.iloc[: r.n_beta], check_names=False,
                                       check_exact=True)
        np.testing.assert_array_equal(coef["[0.025"], r.conf_int()[0].iloc[: r.n_beta])


def test_markdown_has_one_row_per_coefficient(logit):
    md = logit.summary().as_markdown()
    for name, value in logit.params.items():
        assert f"| {name} | {forg(value, 4)} |" in md
    assert r"P>\|z\|" in md


# ---- probit: error covariance with delta-method standard errors ------------------------


def test_heteroskedastic_covariance_standard_errors_in_closed_form(heteroskedastic):
    r = heteroskedastic
    k = r.n_beta
    theta, v = r.estimates[k:], r.covariance[k:, k:]  # log_sd(alt1), log_sd(alt2)
    s2 = np.exp(2 * theta)
    table = r.error_covariance_table()
    # Var(e_j - e_0) = s_j^2 + 1: derivative 2 s_j^2 in log_sd(j)
    for j, alt in enumerate(["alt1", "alt2"]):
        assert table.loc[f"var({alt})", "estimate"] == pytest.approx(s2[j] + 1, rel=1e-12)
        assert table.loc[f"var({alt})", "std err"] == pytest.approx(2 * s2[j] * np.sqrt(v[j, j]), rel=1e-6)
    # Cov = Var(e_0) = 1 is fixed by the normalisation
    assert table.loc["cov(alt2,alt1)", "std err"] == 0 and np.isnan(table.loc["cov(alt2,alt1)", "z"])
    # corr = 1 / sqrt((s1^2 + 1)(s2^2 + 1)): d corr / d log_sd(j) = -corr s_j^2 / (s_j^2 + 1)
    corr = 1 / np.sqrt((s2[0] + 1) * (s2[1] + 1))
    grad = -corr * s2 / (s2 + 1)
    assert table.loc["corr(alt2,alt1)", "estimate"] == pytest.approx(corr, rel=1e-12)
    assert table.loc["corr(alt2,alt1)", "std err"] == pytest.approx(np.sqrt(grad @ v @ grad), rel=1e-6)
    z = table["estimate"] / table["std err"]
    free = table["std err"] > 0
    np.testing.assert_allclose(table.loc[free, "z"], z[free], rtol=1e-12)


def test_unstructured_covariance_standard_errors(unstructured):
    r = unstructured
    k = r.n_beta
    theta, v = r.estimates[k:], r.covariance[k:, k:]
    table = r.error_covariance_table()
    # covariance entries: the analytic derivative of the kernel's covariance map
    analytic = error_covariance_se(r.spec, theta, v)
    assert table.loc["var(alt1)", "std err"] == 0  # Omega_00 = 1
    for name, (a, b) in {"cov(alt2,alt1)": ("alt2", "alt1"), "var(alt2)": ("alt2", "alt2")}.items():
        assert table.loc[name, "std err"] == pytest.approx(analytic.loc[a, b], rel=1e-6)
    # correlation: the spread of the correlation when theta is perturbed by simulated
    # N(0, eps^2 V) draws is, divided by eps, the delta-method standard error
    def correlation(t):
        omega = error_covariance(r.spec, t).to_numpy()
        return omega[1, 0] / np.sqrt(omega[0, 0] * omega[1, 1])

    eps = 1e-3
    draws = np.random.default_rng(5).multivariate_normal(theta, v * eps**2, size=20_000)
    simulated = np.std([correlation(t) for t in draws], ddof=1) / eps
    assert table.loc["corr(alt2,alt1)", "std err"] == pytest.approx(simulated, rel=0.03)


def test_probit_summary_shows_covariance_not_raw_parameters(unstructured):
    r = unstructured
    s = r.summary()
    blocks = _csv_blocks(s.as_csv())
    assert list(blocks["Coefficients"].index) == list(r.beta.index)
    cov = blocks["Covariance of the error differences e_j - e_alt0"]
    corr = blocks["Correlation of the error differences e_j - e_alt0"]
    assert list(cov.index) == ["var(alt1)", "cov(alt2,alt1)", "var(alt2)"]
    table = r.error_covariance_table()
    assert float(cov.loc["var(alt2)", "estimate"]) == table.loc["var(alt2)", "estimate"]
    assert cov.loc["var(alt1)", "std err"] == "(fixed)"
    assert float(corr.loc["corr(alt2,alt1)", "estimate"]) == pytest.approx(r.error_correlation().iloc[1, 0])
    text = str(s)
    assert "(fixed)" in text and "delta-method" in text
    assert "BFGS" in text and _info(s)["Error covariance"] == "unstructured"


# ---- comparison ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(travel, logit):
    probit = cm.Probit("choice ~ gc + ttme | hinc", travel, **COLS, cov="heteroskedastic").fit()
    return cm.compare(logit, probit)


def test_comparison_summary_has_the_five_forms(comparison):
    s = comparison.summary()
    text = s.as_text()
    assert text == str(comparison)
    for title in ("Coefficients", "Standard errors", "Fit", "Choice shares", "Tests", "Elasticities w.r.t. gc"):
        assert title in text and title in s.as_html() and title in s.as_markdown()
    blocks = _csv_blocks(s.as_csv())
    pd.testing.assert_frame_equal(blocks["Coefficients"], comparison.coefficients(), check_names=False,
                                  check_exact=True)
    _check_latex(s.as_latex())


def test_comparison_plot_panels_colour_scale_and_dpi(comparison):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = comparison.plot()
    try:
        assert fig.dpi >= 150
        axes = [ax for ax in fig.axes if ax.get_visible()]
        bars = [ax for ax in axes if ax.get_label() == "<colorbar>"]
        assert len(bars) == 1 and bars[0].get_ylabel() == "elasticity"
        panels = [ax for ax in axes if ax not in bars]
        for ax in panels:
            assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
        # one panel per coefficient, each on its own scale: the slope of gc (about -0.01)
        # is not drawn on the axis of the constants (about 5)
        coef_panels = {ax.get_title(): ax for ax in panels if not ax.images}
        assert set(coef_panels) == set(comparison.coefficient_names)
        lo, hi = coef_panels["gc"].get_xlim()
        assert hi - lo < 0.1
        lo, hi = coef_panels["(Intercept):air"].get_xlim()
        assert hi > 2
        # the heat maps share one colour scale, symmetric about 0 and spanning all models
        images = [im for ax in panels for im in ax.images]
        assert len(images) == 2
        largest = max(np.nanmax(np.abs(e.to_numpy())) for e in comparison.elasticities().values())
        for im in images:
            assert im.get_clim() == pytest.approx((-largest, largest))
    finally:
        plt.close(fig)


# ---- progress --------------------------------------------------------------------------


def test_progress_bars_go_to_stderr_and_turn_off(monkeypatch, capsys, heteroskedastic):
    import tqdm.auto

    from choicemodels import progress

    monkeypatch.setattr(progress, "DELAY", 0.0)
    dgp = cm.DGP(beta=(1.0, -0.5))
    cm.monte_carlo(dgp=dgp, n_obs=100, reps=2, rng=0)
    out = capsys.readouterr()
    assert "Monte Carlo" in out.err and "2/2" in out.err and out.out == ""
    cm.monte_carlo(dgp=dgp, n_obs=100, reps=2, rng=0, progress=False)
    assert capsys.readouterr().err == ""
    model = heteroskedastic.model
    model.fit()
    err = capsys.readouterr().err
    assert "Probit fit" in err and "log-likelihood evaluations" in err
    model.fit(progress=False)
    assert "Probit fit" not in capsys.readouterr().err
    # tqdm.auto: a notebook widget under Jupyter, whether or not stderr is a terminal
    shown = progress.bar(enabled=None, total=1)
    assert isinstance(shown, tqdm.auto.tqdm)
    shown.close()


def test_distributed_fit_reports_the_same_shares(travel):
    dd = pytest.importorskip("dask.dataframe")
    data = travel.assign(w=travel.groupby("individual")["hinc"].transform("first") / 30 + 0.5)
    kw = dict(**COLS, weights="w", weight_type="sampling")
    ref = cm.Logit("choice ~ gc + ttme | hinc", data, **kw).fit()
    ddf = dd.from_pandas(data.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    r = cm.Logit("choice ~ gc + ttme | hinc", ddf, **kw).fit()
    np.testing.assert_allclose(r.choice_counts, ref.choice_counts, rtol=1e-12)
    shares = _csv_blocks(r.summary().as_csv())["Chosen alternatives (weighted)"]
    chosen = data[data["choice"] == 1].groupby("mode")["w"].sum()[ALTS]
    np.testing.assert_allclose(shares["share"].to_numpy(), (chosen / chosen.sum()).to_numpy(), rtol=1e-12)
