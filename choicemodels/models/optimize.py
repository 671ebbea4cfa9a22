r"""Maximisers for the likelihood fits: damped Newton (also projected on bounds), BFGS from the BHHH metric, a scipy BFGS wrapper.

All return an :class:`OptimizeOutcome` and never raise for non-convergence: the caller reads
``converged`` and ``message`` and warns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy import linalg

__all__ = [
    "OptimizeOutcome", "bfgs_maximize", "bfgs_opg_maximize", "bounded_newton_maximize",
    "newton_maximize", "per_unit_weight", "scaled_outcome",
]

#: A Newton step whose decrement is below this moves every coordinate by less than
#: 1e-15 of its standard error (:math:`|d_k| \le \sqrt{g'(-H)^{-1}g\,(-H)^{-1}_{kk}}`):
#: below double precision for any estimate larger than its standard error, so not taken.
_NEGLIGIBLE_DECREMENT = 1e-30

ValueGradHess = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]
ValueGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class OptimizeOutcome:
    """What a maximiser returns.

    Attributes
    ----------
    x : (K,) final point.
    f : objective value at ``x``.
    g : (K,) gradient at ``x``.
    H : (K, K) Hessian at ``x`` (Newton), or ``None`` (BFGS: the caller computes it).
    n_iter : iterations performed.
    converged : whether the convergence criterion was met.
    message : why the maximiser stopped.
    decrements : Newton decrement :math:`g'(-H)^{-1}g` at each iterate, in order
        (empty for BFGS); a slow, linear decay signals a diverging fit.
    """

    x: np.ndarray
    f: float
    g: np.ndarray
    H: np.ndarray | None
    n_iter: int
    converged: bool
    message: str
    decrements: tuple[float, ...] = ()


def per_unit_weight(fun: Callable, scale: float) -> Callable:
    r"""``fun`` divided by ``scale``: every value it returns (a number, an array or ``None``)
    divided by the mean weight ``scale``.

    A weighted log-likelihood :math:`\sum_i w_i \ell_i` and its derivatives scale with the
    weights, and so do the Newton and BHHH decrements the maximisers stop on: weights of
    :math:`10^{-9}` would stop a fit at once, weights of :math:`10^{12}` never. Maximising
    :math:`\sum_i (w_i / c)\, \ell_i` with :math:`c` the mean weight makes the stopping
    rule, and hence the estimate, free of the weights' scale; :func:`scaled_outcome`
    multiplies the reported value and derivatives back.
    """
    if scale == 1.0:
        return fun

    def divided(x: np.ndarray, *args):
        return tuple(None if v is None else v / scale for v in fun(x, *args))

    return divided


def scaled_outcome(outcome: OptimizeOutcome, scale: float) -> OptimizeOutcome:
    """The outcome of a maximiser run on :func:`per_unit_weight` ``(fun, scale)`` in the
    units of ``fun``: value, gradient and Hessian times ``scale``."""
    if scale == 1.0:
        return outcome
    return dataclasses.replace(
        outcome, f=outcome.f * scale, g=outcome.g * scale,
        H=None if outcome.H is None else outcome.H * scale,
    )


def _ascent_direction(g: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, bool]:
    """Newton direction :math:`(-H)^{-1} g`, or a Levenberg-shifted one when -H is not PD.

    Returns the direction and whether -H was positive definite (no shift needed).
    """
    A = -H
    try:
        return linalg.cho_solve(linalg.cho_factor(A), g), True
    except linalg.LinAlgError:
        pass
    eig = linalg.eigvalsh(A)
    scale = max(float(np.abs(eig).max()), 1.0)
    shift = max(-float(eig.min()), 0.0) + 1e-6 * scale
    while True:
        try:
            return linalg.cho_solve(linalg.cho_factor(A + shift * np.eye(len(g))), g), False
        except linalg.LinAlgError:
            shift *= 10.0


def newton_maximize(
    fun: ValueGradHess,
    x0: np.ndarray,
    *,
    maxiter: int = 100,
    tol: float = 1e-8,
    max_halvings: int = 40,
) -> OptimizeOutcome:
    r"""Maximise ``fun`` by Newton's method with backtracking.

    Each iteration solves :math:`(-H)d = g` (Cholesky); when :math:`-H` is not positive
    definite it uses :math:`(-H + \mu I)d = g` with :math:`\mu` just large enough
    (Levenberg), which is an ascent direction. The step :math:`x + t d` halves :math:`t`
    until the objective does not decrease (Armijo-free: logit and probit log-likelihoods are
    smooth and a full Newton step is almost always accepted). Convergence: the Newton
    decrement :math:`g'(-H)^{-1}g < \text{tol}` at a point where :math:`-H` is positive
    definite, which is scale-free and about twice the remaining gain in ``f``; the final
    Newton step is then taken too (one evaluation; unless it would move every coordinate by
    less than 1e-15 standard errors), so the estimate is accurate to about the square of
    the tolerance, and the returned ``g`` and ``H`` are those after that step.
    ``maxiter=0`` returns ``x0`` with its derivatives, and ``tol=0`` runs to ``maxiter``
    unless the gradient vanishes exactly; neither takes a step beyond ``maxiter``.

    Parameters
    ----------
    fun : ``fun(x) -> (f, g, H)``, value (float), gradient (K,) and Hessian (K, K) of the
        function to maximise. It is called once per trial point, always for all three (an
        accepted trial point becomes the next iterate without recomputation). It may
        return a non-finite ``f`` for points outside the domain; those are backtracked.
    x0 : (K,) starting point.
    maxiter : maximum number of Newton iterations.
    tol : tolerance on the Newton decrement.
    max_halvings : step halvings before giving up on an iteration ("no progress").

    Returns
    -------
    OptimizeOutcome
        ``H`` is the Hessian at the final ``x``.

    Examples
    --------
    >>> out = newton_maximize(lambda x: (-(x @ x), -2 * x, -2 * np.eye(2)), np.ones(2))
    >>> out.converged, bool(np.allclose(out.x, 0.0, atol=1e-15))
    (True, True)
    """
    x = np.array(x0, dtype=np.float64)
    f, g, H = fun(x)
    f = float(f)
    decrements: list[float] = []
    if not np.isfinite(f):
        return OptimizeOutcome(x, f, g, H, 0, False, "objective not finite at the start")
    for it in range(maxiter + 1):
        d, definite = _ascent_direction(g, H)
        dec = float(g @ d)
        decrements.append(dec)
        if definite and (dec < tol or dec == 0.0):
            if it < maxiter and dec > _NEGLIGIBLE_DECREMENT:
                # inside the region of quadratic convergence: one last full step costs one
                # evaluation and squares the remaining error (kept unless it lowers f)
                f_new, g_new, H_new = fun(x + d)
                if np.isfinite(f_new) and f_new >= f - 1e-12 * max(1.0, abs(f)):
                    x, f, g, H, it = x + d, float(f_new), g_new, H_new, it + 1
            return OptimizeOutcome(
                x, f, g, H, it, True, "Newton decrement below tolerance", tuple(decrements)
            )
        if it == maxiter:
            break
        t = 1.0
        for _ in range(max_halvings):
            x_new = x + t * d
            f_new, g_new, H_new = fun(x_new)
            f_new = float(f_new)
            if np.isfinite(f_new) and f_new >= f:
                break
            t *= 0.5
        else:
            return OptimizeOutcome(
                x, f, g, H, it, False,
                "no progress: line search could not increase the objective",
                tuple(decrements),
            )
        if f_new == f and np.array_equal(x_new, x):
            return OptimizeOutcome(
                x, f, g, H, it, False, "no progress: step too small to change x",
                tuple(decrements),
            )
        x, f, g, H = x_new, f_new, g_new, H_new
    return OptimizeOutcome(
        x, f, g, H, maxiter, False, f"maximum number of iterations ({maxiter}) reached",
        tuple(decrements),
    )


def bfgs_maximize(
    fun_grad: ValueGrad,
    x0: np.ndarray,
    *,
    maxiter: int = 500,
    tol: float = 1e-6,
    method: str = "BFGS",
) -> OptimizeOutcome:
    """Maximise with scipy's quasi-Newton ``BFGS`` or ``L-BFGS-B`` and an analytic gradient.

    Parameters
    ----------
    fun_grad : ``fun_grad(x) -> (f, g)``, value and gradient (K,) of the function to maximise.
    x0 : (K,) starting point.
    maxiter : maximum number of iterations.
    tol : gradient tolerance (scipy's ``gtol``).
    method : ``"BFGS"`` or ``"L-BFGS-B"``.

    Returns
    -------
    OptimizeOutcome
        ``H`` is ``None``: a quasi-Newton inverse-Hessian approximation is not fit for
        standard errors, so the caller computes the Hessian at ``x``.
    """

    def negated(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fun_grad(x)
        return -float(f), -np.asarray(g, dtype=np.float64)

    options = {"maxiter": maxiter, "gtol": tol}
    res = scipy.optimize.minimize(
        negated, np.asarray(x0, dtype=np.float64), jac=True, method=method, options=options
    )
    return OptimizeOutcome(
        x=np.asarray(res.x, dtype=np.float64),
        f=-float(res.fun),
        g=-np.asarray(res.jac, dtype=np.float64),
        H=None,
        n_iter=int(res.nit),
        converged=bool(res.success),
        message=str(res.message),
    )


def _opg_solve(opg: np.ndarray, g: np.ndarray) -> np.ndarray:
    r""":math:`(S'S + \mu I)^{-1} g` with a tiny ridge ``mu`` for rank-deficient scores."""
    ridge = 1e-10 * max(float(np.trace(opg)) / len(g), 1e-300)
    return linalg.solve(opg + ridge * np.eye(len(g)), g, assume_a="pos")


def bfgs_opg_maximize(
    sums: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    x0: np.ndarray,
    *,
    maxiter: int = 500,
    tol: float = 1e-8,
    max_halvings: int = 40,
    stop: Callable[[np.ndarray], bool] | None = None,
) -> OptimizeOutcome:
    r"""BFGS started from the BHHH metric, stopped by the scale-free BHHH decrement.

    The inverse-Hessian approximation starts at :math:`B_0 = (S'S)^{-1}`, the inverse
    outer product of the scores at ``x0`` (so the first step is a BHHH step), and is
    updated by BFGS with :math:`s = x_{k+1} - x_k`, :math:`y = g_k - g_{k+1}` whenever
    :math:`s'y > 0`. Steps backtrack until the Armijo condition holds. Convergence:
    :math:`g'(S'S)^{-1}g <` ``tol`` (about twice the remaining gain in the log-likelihood).

    The search runs in Jacobi-scaled parameters :math:`z = Dx`,
    :math:`D = \operatorname{diag}(S'S)^{1/2}` at ``x0``, where the outer product has a
    unit diagonal: the eigenvalue cutoff of the pseudo-inverse and the ridge of the
    decrement then act relative to each parameter's own scale, so the iterates do not
    depend on the parameters' units (variables multiplied by :math:`10^6` give the same
    path, with coefficients divided by :math:`10^6`). Without it the outer product's
    condition number grows with the square of the units' ratio, and the intercepts'
    directions fall below the cutoff and the ridge.

    Parameters
    ----------
    sums : ``sums(x) -> (f, g, S'S)``: value, gradient (P,) and outer product of the
        per-situation scores (P, P); a non-finite ``f`` marks points outside the domain.
    x0 : (P,) start.
    stop : ``stop(x) -> bool``, checked after each step: True ends the search (not
        converged), e.g. at a boundary of the parameter space.
    """
    x0 = np.array(x0, dtype=float)
    f, g, opg = sums(x0)
    if not np.isfinite(f):
        return OptimizeOutcome(x0, f, g, None, 0, False, "log-likelihood not finite at the start")
    scale = np.sqrt(np.diag(opg))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)  # no scores: keep the units

    def scaled_sums(z: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        f, g, opg = sums(z / scale)
        return f, g / scale, opg / np.outer(scale, scale)

    out = _bfgs_opg_iterations(
        scaled_sums, scale * x0, (f, g / scale, opg / np.outer(scale, scale)),
        maxiter=maxiter, tol=tol, max_halvings=max_halvings,
        stop=None if stop is None else (lambda z: stop(z / scale)),
    )
    x = x0 if out.n_iter == 0 else out.x / scale  # no step taken: x0 exactly
    return dataclasses.replace(out, x=x, g=out.g * scale)


def _bfgs_opg_iterations(sums, x0, first, *, maxiter, tol, max_halvings, stop) -> OptimizeOutcome:
    """The iterations of :func:`bfgs_opg_maximize` (in its scaled parameters); ``first`` is
    ``sums(x0)``."""
    x = x0
    f, g, opg = first
    inv_h = linalg.pinvh(opg)
    for it in range(maxiter + 1):
        decrement = float(g @ _opg_solve(opg, g))
        if decrement < tol or decrement == 0.0:
            return OptimizeOutcome(x, f, g, None, it, True, "BHHH decrement below tolerance")
        if it == maxiter:
            break
        d = inv_h @ g
        slope = float(g @ d)
        if slope <= 0:  # lost ascent: restart from the BHHH metric
            inv_h = linalg.pinvh(opg)
            d = inv_h @ g
            slope = float(g @ d)
        t = 1.0
        for _ in range(max_halvings):
            x_new = x + t * d
            f_new, g_new, opg_new = sums(x_new)
            if np.isfinite(f_new) and f_new >= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return OptimizeOutcome(x, f, g, None, it, False,
                                   "no progress: line search could not increase the log-likelihood")
        s, y = x_new - x, g - g_new
        sy = float(s @ y)
        if sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
            rho = 1.0 / sy
            v = np.eye(len(x)) - rho * np.outer(s, y)
            inv_h = v @ inv_h @ v.T + rho * np.outer(s, s)
        x, f, g, opg = x_new, f_new, g_new, opg_new
        if stop is not None and stop(x):
            return OptimizeOutcome(x, f, g, None, it + 1, False,
                                   "stopped at the boundary of the parameter space")
    return OptimizeOutcome(x, f, g, None, maxiter, False,
                           f"maximum number of iterations ({maxiter}) reached")


def bounded_newton_maximize(
    fun: ValueGradHess,
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    maxiter: int = 100,
    tol: float = 1e-8,
    max_halvings: int = 40,
) -> OptimizeOutcome:
    r"""Maximise ``fun`` subject to ``lower <= x <= upper`` by projected Newton steps.

    Bertsekas' (1982) projected Newton method, as :func:`newton_maximize` on the free
    coordinates. At each iterate a coordinate is held at its bound (active) where it lies
    on the bound and the gradient points out of the box (:math:`x_i = l_i, g_i < 0` or
    :math:`x_i = u_i, g_i > 0`); the Newton direction is solved on the free coordinates
    (Levenberg-shifted where :math:`-H_{FF}` is not positive definite), and a free
    coordinate on its bound whose direction points outward is held too (and the direction
    solved again), so that the direction is an ascent direction inside the box. The step
    :math:`x + t d` is projected on the box (clipped) and :math:`t` halved until the
    objective does not decrease. Convergence is the Karush-Kuhn-Tucker condition: the
    Newton decrement on the free coordinates below ``tol`` (the held ones have gradients
    pointing out of the box). A coordinate that ends on its bound equals it exactly.

    Parameters
    ----------
    fun : ``fun(x) -> (f, g, H)``, as for :func:`newton_maximize`.
    x0 : (K,) starting point, projected on the box first.
    lower, upper : (K,) bounds (``-inf`` / ``inf`` for unbounded coordinates), lower <= upper.
    maxiter, tol, max_halvings : as for :func:`newton_maximize`.

    Returns
    -------
    OptimizeOutcome
        ``H`` is the (unreduced) Hessian at the final ``x``.

    Examples
    --------
    >>> out = bounded_newton_maximize(lambda x: (-(x - 2) @ (x - 2), -2 * (x - 2), -2 * np.eye(2)),
    ...                               np.zeros(2), np.array([-np.inf, -1.0]), np.array([np.inf, 1.0]))
    >>> out.converged, out.x.round(12).tolist()
    (True, [2.0, 1.0])
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    x = np.clip(np.array(x0, dtype=np.float64), lower, upper)
    f, g, H = fun(x)
    f = float(f)
    decrements: list[float] = []
    if not np.isfinite(f):
        return OptimizeOutcome(x, f, g, H, 0, False, "objective not finite at the start")

    def direction(free: np.ndarray) -> tuple[np.ndarray, bool]:
        d = np.zeros_like(x)
        if free.any():
            d[free], definite = _ascent_direction(g[free], H[np.ix_(free, free)])
            return d, definite
        return d, True

    def projected(x_new: np.ndarray) -> np.ndarray:
        return np.clip(x_new, lower, upper)

    for it in range(maxiter + 1):
        held = ((x <= lower) & (g < 0)) | ((x >= upper) & (g > 0))
        d, definite = direction(~held)
        dec = float(g @ d)
        decrements.append(dec)
        if definite and (dec < tol or dec == 0.0):
            if it < maxiter and dec > _NEGLIGIBLE_DECREMENT:
                f_new, g_new, H_new = fun(projected(x + d))
                if np.isfinite(f_new) and f_new >= f - 1e-12 * max(1.0, abs(f)):
                    x, f, g, H, it = projected(x + d), float(f_new), g_new, H_new, it + 1
            return OptimizeOutcome(
                x, f, g, H, it, True, "Newton decrement below tolerance",
                tuple(decrements),
            )
        if it == maxiter:
            break
        for _ in range(x.size):  # hold free coordinates on a bound that d would leave
            outward = ((x <= lower) & (d < 0)) | ((x >= upper) & (d > 0))
            if not outward.any():
                break
            held |= outward
            d, _ = direction(~held)
        t = 1.0
        for _ in range(max_halvings):
            x_new = projected(x + t * d)
            f_new, g_new, H_new = fun(x_new)
            f_new = float(f_new)
            if np.isfinite(f_new) and f_new >= f:
                break
            t *= 0.5
        else:
            return OptimizeOutcome(
                x, f, g, H, it, False,
                "no progress: line search could not increase the objective", tuple(decrements),
            )
        if f_new == f and np.array_equal(x_new, x):
            return OptimizeOutcome(x, f, g, H, it, False, "no progress: step too small to change x",
                                   tuple(decrements))
        x, f, g, H = x_new, f_new, g_new, H_new
    return OptimizeOutcome(
        x, f, g, H, maxiter, False, f"maximum number of iterations ({maxiter}) reached",
        tuple(decrements),
    )
