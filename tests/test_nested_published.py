"""Nested logit against mlogit's published output on its HC (heating and cooling) data.

Source: K. Train and Y. Croissant, "Exercise 2: Nested logit model", a vignette of the R
package mlogit (``inst/doc/e2nlogit.Rmd``; the printed output is that of mlogit 1.1-3's
``e2nlogit.html``). mlogit printed it with the costs in hundreds of dollars (its ``HC``
before version 2.0); the bundled file, like mlogit 2.0's, is in dollars, so the costs are
divided by 100 here. mlogit's summaries report the standard errors of the outer product of
the scores (BHHH), ``cov_type="opg"`` here.

mlogit's BFGS stops when :math:`g'(-H)^{-1}g` falls below its tolerance (printed with each
fit, at most 7.3e-6), so its estimates are within :math:`\\sqrt{7.3\\times 10^{-6}} < 0.003`
standard errors of the maximum; the estimates are compared within that, plus half a unit of
the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm

FORMULA = "depvar ~ ich + och + icca + occa + inc_room + inc_cooling + int_cooling | 0"
NAMES = ["ich", "och", "icca", "occa", "inc_room", "inc_cooling", "int_cooling", "iv"]
COOLING = {"cooling": ["gcc", "ecc", "erc", "hpc"], "other": ["gc", "ec", "er"]}


@pytest.fixture(scope="module")
def hc() -> pd.DataFrame:
    """The exercise's variables: cooling costs only for the cooling systems, income for
    the room systems and for the cooling systems, an intercept for cooling."""
    df = cm.datasets.load_heating_cooling()
    cooling = df["alt"].isin(COOLING["cooling"])
    room = df["alt"].isin(["erc", "er"])
    return df.assign(
        ich=df["ich"] / 100, och=df["och"] / 100,
        icca=np.where(cooling, df["icca"] / 100, 0.0), occa=np.where(cooling, df["occa"] / 100, 0.0),
        inc_room=np.where(room, df["income"], 0), inc_cooling=np.where(cooling, df["income"], 0),
        int_cooling=cooling.astype(float),
    )


def _fit(hc, nests, equal_iv=True):
    model = cm.NestedLogit(FORMULA, data=hc, obs="id", alt="alt", nests=nests, equal_iv=equal_iv)
    return model.fit(cov_type="opg")


def _assert_published(result, estimates, std_errors, digits):
    """Estimates within mlogit's stopping distance (0.003 SE) plus half a printed digit;
    standard errors to the printed digits (and the same stopping distance)."""
    estimates, std_errors = np.array(estimates), np.array(std_errors)
    half_digit = 0.5 * 10.0 ** -np.array(digits)
    np.testing.assert_array_less(np.abs(result.params[NAMES].to_numpy() - estimates),
                                 0.003 * std_errors + half_digit)
    np.testing.assert_allclose(result.bse[NAMES].to_numpy(), std_errors, rtol=1e-4, atol=0)


def test_one_log_sum_coefficient_for_cooling_and_other(hc):
    """mlogit: ``nl <- mlogit(..., nests = list(cooling = c('gcc','ecc','erc','hpc'),
    other = c('gc','ec','er')), un.nest.el = TRUE)``; Log-Likelihood -178.12
    (``logLik``: -178.1247), the t statistic of iv = 1 -2.304171, and the LR test against
    the logit: logit LL -180.29, Chisq 4.3234, p 0.03759."""
    r = _fit(hc, COOLING)
    assert r.converged
    assert r.llf == pytest.approx(-178.1247, abs=5e-5)
    _assert_published(
        r,
        [-0.554878, -0.857886, -0.225079, -1.089458, -0.378971, 0.249575, -6.000415, 0.585922],
        [0.144205, 0.255313, 0.144423, 1.219821, 0.099631, 0.059213, 5.562423, 0.179708],
        [6, 6, 6, 6, 6, 6, 6, 6],
    )
    z = (r.params["iv"] - 1.0) / r.bse["iv"]
    assert z == pytest.approx(-2.304171, abs=2e-5)
    logit = cm.Logit(FORMULA, data=hc, obs="id", alt="alt").fit()
    assert logit.llf == pytest.approx(-180.29, abs=5e-3)
    lr = cm.lr_test(logit, r)
    assert lr.statistic == pytest.approx(4.3234, abs=5e-5)
    assert lr.p_value == pytest.approx(0.03759, abs=5e-6)
    assert lr.df == 1


def test_room_and_central_nests_give_iv_above_one(hc):
    """mlogit: ``nl2`` with nests central = (ec, ecc, gc, gcc, hpc) and room = (er, erc):
    Log-Likelihood -180.0231, iv 1.36201 (t of iv = 1: 0.5535849); LR against the logit
    0.5268."""
    r = _fit(hc, {"central": ["ec", "ecc", "gc", "gcc", "hpc"], "room": ["er", "erc"]})
    assert r.llf == pytest.approx(-180.0231, abs=5e-5)
    _assert_published(
        r,
        [-1.13818, -1.82532, -0.33746, -2.06328, -0.75722, 0.41689, -13.82487, 1.36201],
        [0.54216, 0.93228, 0.26934, 1.89726, 0.34292, 0.20742, 7.94031, 0.65393],
        [5, 5, 5, 5, 5, 5, 5, 5],
    )
    assert (r.params["iv"] - 1.0) / r.bse["iv"] == pytest.approx(0.5535849, abs=5e-4)


def test_separate_log_sum_coefficients(hc):
    """mlogit: ``nl3 <- update(nl, un.nest.el = FALSE)``; the exercise's answers: iv about
    0.60 (cooling) and 0.45 (other), and the LR statistic of nl against nl3 0.6299."""
    one = _fit(hc, COOLING)
    r = _fit(hc, COOLING, equal_iv=False)
    assert r.params["iv:cooling"] == pytest.approx(0.60, abs=0.005)
    assert r.params["iv:other"] == pytest.approx(0.45, abs=0.005)
    assert cm.lr_test(one, r).statistic == pytest.approx(0.6299, abs=5e-5)


def test_three_nests_with_a_singleton(hc):
    """mlogit: ``nl4`` with nests (gcc, ecc, erc), (hpc), (gc, ec, er) and one iv:
    Log-Likelihood -180.26, iv 0.956544."""
    r = _fit(hc, {"n1": ["gcc", "ecc", "erc"], "n2": ["hpc"], "n3": ["gc", "ec", "er"]})
    assert r.llf == pytest.approx(-180.26, abs=5e-3)
    _assert_published(
        r,
        [-0.838394, -1.331598, -0.256131, -1.405656, -0.571352, 0.311355, -10.413384, 0.956544],
        [0.100546, 0.252069, 0.145564, 1.207281, 0.077950, 0.056357, 5.612445, 0.180722],
        [6, 6, 6, 6, 6, 6, 6, 6],
    )
