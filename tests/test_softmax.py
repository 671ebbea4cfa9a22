"""Softmax family: exactness against arbitrary-precision references, invariances, masks."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

import choicemodels as cm
from choicemodels.exceptions import ChoiceDataError

EPS = np.finfo(np.float64).eps
MOST_NEGATIVE = -np.finfo(np.float64).max

any_finite = st.floats(allow_nan=False, allow_infinity=False)
utilities = hnp.arrays(np.float64, st.integers(1, 6), elements=any_finite)
temperatures = st.floats(1e-300, 1e300)


def mp_log_softmax(V, T=1.0):
    """Reference log-probabilities with 60 significant digits and unbounded exponents."""
    with mpmath.workdps(60):
        v = [mpmath.mpf(float(x)) / mpmath.mpf(T) for x in V]
        m = max(v)
        log_sum = mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in v))
        return [x - m - log_sum for x in v]


def assert_probabilities_close(p, ref, J, log_scale=None):
    """Rounding bound: exp turns an absolute error eps * |log-scale| in a utility into a relative one.

    ``log_scale`` is the magnitude of the (shifted) utilities involved, by default |log ref|.
    """
    p, ref = np.asarray(p), np.asarray(ref)
    if log_scale is None:
        log_scale = np.abs(np.log(np.maximum(ref, 1e-320)))
    bound = 16 * EPS * (J + log_scale) * ref + 1e-300
    assert np.all(np.abs(p - ref) <= bound), (p, ref)


def to_float(x):
    """Round an mpf to float64, saturating beyond the float range as the kernels document."""
    return max(float(x), MOST_NEGATIVE) if x > -mpmath.inf else -np.inf


# ----------------------------------------------------------------------------- exactness


@settings(max_examples=60, deadline=None)
@given(utilities, temperatures)
def test_softmax_matches_arbitrary_precision_for_any_finite_input(V, T):
    ref = np.array([float(mpmath.exp(x)) for x in mp_log_softmax(V, T)])
    p = cm.softmax(V, temperature=T)
    assert np.isfinite(p).all()
    assert_probabilities_close(p, ref, V.size)


@settings(max_examples=60, deadline=None)
@given(utilities, temperatures)
def test_log_softmax_matches_arbitrary_precision_for_any_finite_input(V, T):
    ref = np.array([to_float(x) for x in mp_log_softmax(V, T)])
    logp = cm.log_softmax(V, temperature=T)
    assert np.isfinite(logp).all()
    assert np.all(np.abs(logp - ref) <= 8 * EPS * (1 + np.abs(ref)))


@settings(max_examples=60, deadline=None)
@given(utilities, temperatures)
def test_logsumexp_matches_arbitrary_precision(V, T):
    with mpmath.workdps(60):
        v = [mpmath.mpf(float(x)) for x in V]
        m = max(v)
        ref = m + mpmath.mpf(T) * mpmath.log(mpmath.fsum(mpmath.exp((x - m) / T) for x in v))
    # beyond the float range the result saturates, as a correctly rounded value would
    if abs(ref) < np.finfo(np.float64).max:
        assert_allclose(cm.logsumexp(V, temperature=T), float(ref), rtol=8 * EPS * V.size, atol=1e-300)


def test_difference_beyond_float_range_is_scaled_first():
    # V_0 - V_1 overflows, (V_0 - V_1) / 2 does not: log p_0 = -8.988e307, not saturated
    V = np.array([-np.finfo(np.float64).max, 1e292])
    expected = V[0] / 2 - V[1] / 2
    assert_allclose(cm.log_softmax(V, temperature=2.0), [expected, 0.0], rtol=EPS)
    assert cm.logsumexp(V, temperature=2.0) == 1e292


def test_matches_scipy_on_moderate_utilities():
    rng = np.random.default_rng(1)
    V = rng.normal(scale=5, size=(7, 4, 5))
    for axis in (0, 1, -1):
        assert_allclose(cm.softmax(V, axis=axis), special.softmax(V, axis=axis), rtol=1e-14)
        assert_allclose(cm.log_softmax(V, axis=axis), special.log_softmax(V, axis=axis), rtol=1e-13)
        assert_allclose(cm.logsumexp(V, axis=axis), special.logsumexp(V, axis=axis), rtol=1e-14)
    assert_allclose(cm.softmax(V, temperature=0.3), special.softmax(V / 0.3, axis=-1), rtol=1e-13)
    assert_allclose(cm.logsumexp(V, temperature=2.0), 2.0 * special.logsumexp(V / 2.0, axis=-1), rtol=1e-14)


# ----------------------------------------------------------------------------- invariances


@settings(max_examples=60, deadline=None)
@given(utilities, temperatures)
def test_sums_to_one_and_lies_in_unit_interval(V, T):
    p = cm.softmax(V, temperature=T)
    assert np.all((p >= 0) & (p <= 1))
    assert abs(p.sum() - 1) <= 2 * EPS * V.size


exact_ints = st.integers(-(2**40), 2**40).map(float)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=exact_ints), exact_ints, st.integers(0, 900))
def test_shift_invariance_is_exact(V, c, k):
    # integers times a power of two: V + c is exact, so the probabilities must agree bit for bit
    scale = 2.0**k
    assert_array_equal(cm.softmax((V + c) * scale), cm.softmax(V * scale))
    assert_array_equal(cm.log_softmax((V + c) * scale), cm.log_softmax(V * scale))


@settings(max_examples=60, deadline=None)
@given(utilities, st.data())
def test_probability_is_monotone_in_own_utility(V, data):
    j = data.draw(st.integers(0, V.size - 1))
    W = V.copy()
    W[j] = data.draw(st.floats(min_value=V[j], max_value=np.finfo(np.float64).max))
    p, q = cm.softmax(V), cm.softmax(W)
    assert q[j] >= p[j] * (1 - 4 * EPS * V.size)
    others = np.arange(V.size) != j
    assert np.all(q[others] <= p[others] * (1 + 4 * EPS * V.size) + 1e-300)


def test_low_temperature_tends_to_argmax():
    V = np.array([0.3, 1.0, 0.999999, -5.0])
    assert_array_equal(cm.softmax(V, temperature=1e-300), [0, 1, 0, 0])
    assert_allclose(cm.logsumexp(V, temperature=1e-300), 1.0, rtol=EPS)
    # high temperature tends to equal shares
    assert_allclose(cm.softmax(V, temperature=1e300), np.full(4, 0.25), rtol=EPS)


def test_span_of_the_whole_float_range():
    big = np.finfo(np.float64).max
    V = np.array([big, -big, 0.0, big])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = cm.softmax(V)
        logp = cm.log_softmax(V)
    assert_array_equal(p, [0.5, 0, 0, 0.5])
    assert_allclose(logp[[0, 3]], np.log(0.5), rtol=EPS)
    assert logp[1] == MOST_NEGATIVE  # true value -2 * big saturates, stays finite
    assert logp[2] == -big


# ----------------------------------------------------------------------------- availability


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(2, 6), elements=st.floats(-50, 50)),
    st.data(),
)
def test_unavailable_alternatives_get_zero_and_the_rest_renormalise(V, data):
    avail = data.draw(hnp.arrays(bool, V.shape).filter(lambda a: a.any()))
    p = cm.softmax(V, avail=avail)
    logp = cm.log_softmax(V, avail=avail)
    assert np.all(p[~avail] == 0)
    assert np.all(logp[~avail] == -np.inf)
    assert_probabilities_close(p[avail], special.softmax(V[avail]), V.size)
    assert_allclose(logp[avail], special.log_softmax(V[avail]), rtol=1e-13, atol=1e-15)
    lse = special.logsumexp(V[avail])  # absolute rounding error: eps * (J + |lse|)
    assert abs(cm.logsumexp(V, avail=avail) - lse) <= 8 * EPS * (V.size + abs(lse))
    # -inf utilities mean the same; utilities of unavailable alternatives are ignored, even NaN
    assert_array_equal(cm.softmax(np.where(avail, V, -np.inf)), p)
    assert_array_equal(cm.softmax(np.where(avail, V, np.nan), avail=avail), p)


def test_avail_broadcasts_over_situations_and_accepts_01():
    V = np.random.default_rng(2).normal(size=(5, 3))
    p = cm.softmax(V, avail=[1, 0, 1])
    assert_array_equal(p[:, 1], 0)
    assert_allclose(p[:, [0, 2]], special.softmax(V[:, [0, 2]], axis=1), rtol=1e-14)


# ----------------------------------------------------------------------------- inverse, Jacobian


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(1e-300, 1.0)), st.data())
def test_inverse_softmax_round_trip(w, data):
    p = w / w.sum()
    ref = data.draw(st.integers(0, p.size - 1))
    V = cm.inverse_softmax(p, ref=ref)
    assert V[ref] == 0
    assert_probabilities_close(cm.softmax(V), p, p.size, log_scale=np.abs(V[np.isfinite(V)]).max())


def test_inverse_softmax_recovers_normalised_utilities_and_zeros():
    V = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -40.0]])
    assert_allclose(cm.inverse_softmax(cm.softmax(V), ref=1), V - V[:, [1]], atol=1e-13)
    out = cm.inverse_softmax([0.5, 0.0, 0.5])
    assert_array_equal(out, [0.0, -np.inf, 0.0])
    assert_array_equal(cm.softmax(out), [0.5, 0.0, 0.5])


def test_jacobian_matches_finite_differences_and_batches():
    rng = np.random.default_rng(3)
    V = rng.normal(size=(3, 2, 4))
    T = 0.7
    jac = cm.softmax_jacobian(cm.softmax(V, temperature=T), temperature=T)
    assert jac.shape == (3, 2, 4, 4)
    h = 1e-6
    for k in range(4):
        step = np.zeros(4)
        step[k] = h
        fd = (cm.softmax(V + step, temperature=T) - cm.softmax(V - step, temperature=T)) / (2 * h)
        assert_allclose(jac[..., :, k], fd, atol=1e-9)
    assert_allclose(jac.sum(axis=-1), 0, atol=8 * EPS / T)
    assert_allclose(cm.softmax_jacobian([0.2, 0.8]), [[0.16, -0.16], [-0.16, 0.16]], rtol=1e-15)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("T", [0.0, -1.0, np.inf, np.nan, "hot", [1.0, 2.0]])
def test_rejects_bad_temperature(T):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        cm.softmax([1.0, 2.0], temperature=T)


def test_rejects_nan_or_plus_inf_for_available_alternatives():
    with pytest.raises(ChoiceDataError, match=r"NaN or \+inf .* at \[\(1, 0\)\]"):
        cm.log_softmax([[1.0, 2.0], [np.nan, 0.0]])
    with pytest.raises(ChoiceDataError, match="NaN or"):
        cm.softmax([np.inf, 0.0])


def test_rejects_situations_without_available_alternative():
    with pytest.raises(ChoiceDataError, match=r"no available alternative .*first: \[1\]"):
        cm.softmax([[1.0, 2.0], [-np.inf, -np.inf]])
    with pytest.raises(ChoiceDataError, match="no available alternative"):
        cm.logsumexp([1.0, 2.0], avail=[0, 0])


def test_rejects_bad_shapes_and_flags():
    with pytest.raises(ChoiceDataError, match="scalar"):
        cm.softmax(1.0)
    with pytest.raises(ChoiceDataError, match="does not broadcast"):
        cm.softmax(np.zeros((2, 3)), avail=[1, 0])
    with pytest.raises(ChoiceDataError, match="0/1"):
        cm.softmax([1.0, 2.0], avail=[2, 1])
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        cm.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ChoiceDataError, match="numeric"):
        cm.softmax(["a", "b"])


def test_inverse_softmax_rejects_bad_probabilities_and_ref():
    with pytest.raises(ChoiceDataError, match="reference alternative"):
        cm.inverse_softmax([0.0, 1.0])
    with pytest.raises(ChoiceDataError, match=">= 0"):
        cm.inverse_softmax([-0.1, 1.1])
    with pytest.raises(ValueError, match=r"ref must be an integer index in \[0, 2\)"):
        cm.inverse_softmax([0.5, 0.5], ref=2)
    with pytest.raises(ChoiceDataError, match="finite"):
        cm.softmax_jacobian([np.nan, 1.0])
