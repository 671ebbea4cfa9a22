"""Newton and BFGS maximisers against closed-form optima and statsmodels' logit MLE."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der, rosen_hess
from statsmodels.discrete.conditional_models import ConditionalLogit

from choicemodels.kernels.logit import logit_loglike_derivatives
from choicemodels.models.optimize import OptimizeOutcome, bfgs_maximize, newton_maximize


def neg_rosen(x):
    return -rosen(x), -rosen_der(x), -rosen_hess(x)


def test_newton_finds_closed_form_maximum_of_concave_function():
    # f(x) = sum(a x - exp(x)) is maximised at x = log(a)
    a = np.array([0.5, 2.0, 7.0])
    out = newton_maximize(
        lambda x: (a @ x - np.exp(x).sum(), a - np.exp(x), -np.diag(np.exp(x))), np.zeros(3),
        tol=1e-20,
    )
    assert isinstance(out, OptimizeOutcome)
    assert out.converged
    np.testing.assert_allclose(out.x, np.log(a), rtol=1e-8)
    assert out.f == pytest.approx(np.sum(a * np.log(a) - a), rel=1e-12)


def test_newton_handles_indefinite_hessian_on_rosenbrock():
    # the Rosenbrock Hessian is indefinite at (0, 1); the optimum is (1, 1)
    x0 = np.array([-1.2, 1.0])
    assert np.linalg.eigvalsh(-rosen_hess(np.array([0.0, 1.0]))).min() < 0
    out = newton_maximize(neg_rosen, np.array([0.0, 1.0]), maxiter=200, tol=1e-20)
    assert out.converged
    np.testing.assert_allclose(out.x, [1.0, 1.0], atol=1e-6)
    out = newton_maximize(neg_rosen, x0, maxiter=200, tol=1e-20)
    assert out.converged
    np.testing.assert_allclose(out.x, [1.0, 1.0], atol=1e-6)


def test_newton_stops_without_a_final_step_once_the_step_is_below_tol_standard_errors():
    # a concave quadratic: the first Newton step lands on the maximum, where the decrement is
    # 0 < tol**2, so no further evaluation is spent; a decrement in [tol**2, tol) takes one
    a = np.array([0.3, -2.0])
    calls = []

    def quadratic(x):
        calls.append(x.copy())
        return -((x - a) @ (x - a)), -2 * (x - a), -2 * np.eye(2)

    out = newton_maximize(quadratic, np.ones(2))
    assert out.converged and len(calls) == 2 and out.n_iter == 1
    np.testing.assert_allclose(out.x, a, rtol=0, atol=1e-15)
    calls.clear()
    out = newton_maximize(quadratic, a + 1e-5, tol=1e-8)  # decrement 4e-10
    assert out.converged and len(calls) == 2 and out.n_iter == 1
    np.testing.assert_allclose(out.x, a, rtol=0, atol=1e-15)


def test_newton_reports_non_convergence_without_raising():
    out = newton_maximize(neg_rosen, np.array([-1.2, 1.0]), maxiter=2)
    assert not out.converged
    assert out.n_iter == 2
    assert "maximum number of iterations" in out.message


def test_newton_backtracks_over_non_finite_values():
    # log(x) - x is maximised at x = 1; a full step from x = 3 leaves the domain
    def f(x):
        if x[0] <= 0:
            return -np.inf, np.array([np.nan]), np.array([[np.nan]])
        return np.log(x[0]) - x[0], np.array([1 / x[0] - 1]), np.array([[-1 / x[0] ** 2]])

    out = newton_maximize(f, np.array([3.0]), tol=1e-20)
    assert out.converged
    assert out.x[0] == pytest.approx(1.0, abs=1e-6)


def test_newton_finds_statsmodels_conditional_logit_mle():
    rng = np.random.default_rng(0)
    N, J, K = 500, 4, 3
    X = rng.normal(size=(N, J, K))
    chosen = (X @ np.array([1.0, -0.5, 0.25]) + rng.gumbel(size=(N, J))).argmax(axis=1)
    avail = np.ones((N, J), bool)
    out = newton_maximize(
        lambda b: logit_loglike_derivatives(b, X, chosen, avail), np.zeros(K), tol=1e-20
    )
    endog = (np.arange(J)[None, :] == chosen[:, None]).ravel().astype(float)
    ref = ConditionalLogit(endog, X.reshape(N * J, K), groups=np.repeat(np.arange(N), J)).fit(
        disp=False, method="newton", maxiter=100, tol=1e-12
    )
    assert out.converged
    np.testing.assert_allclose(out.x, ref.params, rtol=1e-6, atol=1e-7)
    assert out.f == pytest.approx(ref.llf, rel=1e-10)
    assert out.n_iter < 10


def test_bfgs_maximize_rosenbrock():
    out = bfgs_maximize(lambda x: (-rosen(x), -rosen_der(x)), np.array([-1.2, 1.0]), tol=1e-8)
    assert out.converged
    assert out.H is None
    np.testing.assert_allclose(out.x, [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(out.g, -rosen_der(out.x))
    out = bfgs_maximize(
        lambda x: (-rosen(x), -rosen_der(x)), np.array([-1.2, 1.0]), tol=1e-8, method="L-BFGS-B"
    )
    np.testing.assert_allclose(out.x, [1.0, 1.0], atol=1e-4)
