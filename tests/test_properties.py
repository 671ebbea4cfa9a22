"""Properties of the logit and probit models under fuzzing (hypothesis).

Random small specifications (N situations, J alternatives, K columns), attributes,
availabilities, choices and parameters: the probabilities lie in [0, 1], sum to one over
the available alternatives and vanish for the unavailable ones; the log-likelihood is <= 0
and is the sum of the log-probabilities of the chosen alternatives; the analytic score
matches central finite differences of the log-likelihood (and the logit's analytic Hessian
those of the score). The softmax properties are in tests/test_softmax.py, the formula
parser's in tests/test_formula.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import choicemodels as cm

# about half the drawn designs are not identified (a column without variation within any
# situation) and are filtered out by assume(): expected, hence filter_too_much is suppressed
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
finite = st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False)
coefficient = st.floats(-3.0, 3.0, allow_nan=False)


@st.composite
def choice_data(draw, min_alts: int = 2, max_alts: int = 4):
    """(X (N, J, K), chosen (N,), avail (N, J)) that pass validation."""
    n = draw(st.integers(6, 25))
    J = draw(st.integers(min_alts, max_alts))
    K = draw(st.integers(1, 3))
    X = draw(hnp.arrays(np.float64, (n, J, K), elements=finite))
    avail = draw(hnp.arrays(np.bool_, (n, J), elements=st.booleans()))
    chosen = np.array([draw(st.integers(0, J - 1)) for _ in range(n)])
    avail[np.arange(n), chosen] = True
    avail[: J, :] = True  # every alternative is available somewhere
    return X, chosen, avail


def build(model, X, chosen, avail, **options):
    try:
        return model.from_arrays(X, chosen, avail=avail, **options)
    except cm.SpecificationError:  # e.g. a column without variation: not identified
        assume(False)


def random_params(draw, m, theta_bound: float = 1.0) -> np.ndarray:
    k = m.design.n_params
    beta = draw(hnp.arrays(np.float64, k, elements=coefficient))
    theta = draw(hnp.arrays(np.float64, len(m.param_names) - k,
                            elements=st.floats(-theta_bound, theta_bound)))
    return np.concatenate([beta, theta])


def check_probabilities(m, params, atol: float) -> np.ndarray:
    p = m.predict(params)
    avail = m.design.avail
    assert p.shape == avail.shape
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_array_equal(p[~avail], 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=atol)
    return p


def check_loglike(m, params, p) -> float:
    ll = m.loglike(params)
    assert np.isfinite(ll) and ll <= 0
    d = m.design
    p_chosen = p[np.arange(d.n_obs), d.chosen]
    # below the smallest normal double a probability has lost digits: only its log is exact
    if np.all(p_chosen >= np.finfo(float).tiny):
        assert ll == pytest.approx(np.log(p_chosen).sum(), rel=1e-9, abs=1e-9)
    return ll


def finite_difference(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of a scalar or vector function, one column per coordinate."""
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h * max(1.0, abs(x[k]))
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * e[k]))
    return np.stack(cols, axis=-1)


def check_score(m, params, ll) -> None:
    numeric = finite_difference(m.loglike, params)
    # central differences: truncation O(h^2 f''') and rounding O(eps |f| / h)
    np.testing.assert_allclose(m.score(params), numeric, rtol=1e-5, atol=1e-6 * (1 + abs(ll)))


@SETTINGS
@given(choice_data(), st.data())
def test_logit_properties(data, draw):
    X, chosen, avail = data
    m = build(cm.Logit, X, chosen, avail)
    params = random_params(draw.draw, m)
    p = check_probabilities(m, params, atol=1e-12)
    ll = check_loglike(m, params, p)
    check_score(m, params, ll)
    numeric = finite_difference(m.score, params)
    np.testing.assert_allclose(m.hessian(params), numeric, rtol=1e-5,
                               atol=1e-6 * (1 + np.abs(m.hessian(params)).max()))


# (cov, integration, alternatives, bound on theta): exact methods, rows sum to one to rounding.
# Documented limit of the exact kernels (regression tests in tests/test_degenerate.py): the
# closed-form bivariate normal cdf has absolute accuracy, so chosen probabilities must stay
# above ~1e-12 for a finite log. The quadrature takes any ratio of error scales (here up
# to e^6).
EXACT = [
    ("iid", "quadrature", (2, 4), 1.0),
    ("heteroskedastic", "quadrature", (3, 4), 3.0),
    ("unstructured", "closed", (3, 3), 1.0),
]


@pytest.mark.parametrize("cov, integration, alts, bound", EXACT, ids=[c[0] for c in EXACT])
@SETTINGS
@given(draw=st.data())
def test_probit_properties(cov, integration, alts, bound, draw):
    X, chosen, avail = draw.draw(choice_data(*alts))
    m = build(cm.Probit, X, chosen, avail, cov=cov, integration=integration)
    params = random_params(draw.draw, m, bound)
    if integration == "closed":  # GHK works in log space: keep to the closed forms' range
        ghk = cm.Probit.from_arrays(X, chosen, avail=avail, cov=cov, integration="ghk", draws=20, rng=0)
        assume(ghk.loglike_obs(params).min() > np.log(1e-12))
    p = check_probabilities(m, params, atol=1e-12 if integration == "closed" else 1e-9)
    ll = check_loglike(m, params, p)
    check_score(m, params, ll)


@settings(max_examples=15, deadline=None)
@given(draw=st.data())
def test_probit_ghk_properties(draw):
    # GHK: probabilities in [0, 1] and zero when unavailable; rows sum to one only up to the
    # simulation error (tests/test_contract.py), so here the score is the exact derivative
    # of the simulated log-likelihood with the draws held fixed
    # moderate utilities only: the GHK score departs from the derivative of the simulated
    # log-likelihood when log-probabilities reach the hundreds
    # (tests/test_degenerate.py::test_ghk_score_for_extreme_utilities)
    X, chosen, avail = draw.draw(choice_data(4, 4))
    m = build(cm.Probit, X / 4, chosen, avail, cov="unstructured", integration="ghk", draws=40, rng=0)
    params = random_params(draw.draw, m) / 3
    p = m.predict(params)
    assert np.all((p >= 0) & (p <= 1)) and np.all(p[~m.design.avail] == 0)
    ll = m.loglike(params)
    assert np.isfinite(ll) and ll <= 0
    check_score(m, params, ll)
