"""First use without a compiler: the numpy route of the logit sums, which problems take it,
and compiled kernels where numba has no writable cache folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from choicemodels.kernels import logit as logit_module
from choicemodels.kernels.logit import logit_chunk_sums, logit_loglike, logit_loglike_derivatives

ROOT = Path(__file__).resolve().parents[1]


def random_design(rng, N, J, K, *, scale, unavailable):
    """X (N, J, K) with NaN attributes for unavailable alternatives, chosen among the available
    ones, availability, weights with some zeros, and beta with utilities of order ``scale``."""
    X = rng.normal(size=(N, J, K)) * rng.uniform(0.2, 2.0, size=K)
    avail = rng.random((N, J)) >= unavailable
    chosen = rng.integers(0, J, N)
    avail[np.arange(N), chosen] = True
    X[~avail] = np.nan  # must not matter
    weights = rng.exponential(size=N)
    weights[rng.random(N) < 0.1] = 0.0
    beta = rng.normal(size=K) * scale / np.sqrt(K)
    return beta, X, chosen, avail, weights


def both_routes(monkeypatch, func, *args, **kwargs):
    """``func`` with the compiled pass forced, then with numpy forced."""
    out = []
    for threshold in (-1, 1 << 40):
        monkeypatch.setattr(logit_module, "NUMPY_MAX_SIZE", threshold)
        out.append(func(*args, **kwargs))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_numpy_sums_equal_the_compiled_pass(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    N, J, K = int(rng.integers(1, 700)), int(rng.integers(2, 9)), int(rng.integers(1, 10))
    scale = float(rng.choice([0.1, 1.0, 10.0, 100.0]))
    beta, X, chosen, avail, w = random_design(rng, N, J, K, scale=scale,
                                              unavailable=float(rng.uniform(0.0, 0.5)))
    weights = None if seed % 3 == 0 else w
    compiled, numpy = both_routes(monkeypatch, logit_loglike_derivatives, beta, X, chosen, avail,
                                  weights)
    assert numpy[0] == pytest.approx(compiled[0], rel=1e-12, abs=1e-12)
    for a, b in zip(numpy[1:], compiled[1:]):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * max(1.0, np.abs(b).max()))
    np.testing.assert_array_equal(numpy[2], numpy[2].T)
    # the log-likelihood alone, and the gradient without the Hessian, by the chunk sums
    ll_c, ll_n = both_routes(monkeypatch, logit_loglike, beta, X, chosen, avail, weights)
    assert ll_n == pytest.approx(ll_c, rel=1e-12, abs=1e-12)
    (l_c, g_c, h_c), (l_n, g_n, h_n) = both_routes(
        monkeypatch, logit_chunk_sums, beta, X, chosen, avail, weights, hessian=False)
    assert h_c is None and h_n is None
    np.testing.assert_allclose(g_n, g_c, rtol=0, atol=1e-12 * max(1.0, np.abs(g_c).max()))


def test_numpy_route_up_to_the_threshold_then_compiled(monkeypatch):
    calls = []

    def compiled_pass():  # stands in for the compiled kernel: records that it was asked for
        calls.append(True)
        raise LookupError("compiled pass")

    monkeypatch.setattr(logit_module, "_compiled_block_sums", compiled_pass)
    J, K = 2, 1
    N = logit_module.NUMPY_MAX_SIZE // (J * K)
    X = np.zeros((N, J, K))
    chosen, avail = np.zeros(N, np.int64), np.ones((N, J), bool)
    ll = logit_loglike(np.zeros(K), X, chosen, avail)
    assert not calls
    assert ll == pytest.approx(-N * np.log(2.0), rel=1e-13)
    with pytest.raises(LookupError, match="compiled pass"):
        logit_loglike(np.zeros(K), np.zeros((N + 1, J, K)), np.zeros(N + 1, np.int64),
                      np.ones((N + 1, J), bool))
    assert calls


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a new interpreter from the repository root (this checkout imported)."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_compare_on_the_bundled_data_never_imports_numba():
    out = run_python("""
        import contextlib, io, sys
        from choicemodels.cli import main
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            status = main(["compare"])
        print(status, "numba" in sys.modules, "-189.5252" in text.getvalue())
    """)
    assert out.split() == ["0", "False", "True"]


def test_kernels_compile_where_numba_has_no_writable_cache_folder():
    # only the zip-file locator: numba finds no cache folder for any regular source file
    out = run_python("""
        import numba, numpy as np
        try:
            numba.njit(cache=True)(lambda x: x)
            print("cached")
        except RuntimeError as error:
            print("no-cache" if "no locator available" in str(error) else repr(error))
        from choicemodels.kernels.jit import njit
        print(njit(nogil=True)(lambda x: 2.0 * x)(1.5))
        from choicemodels.kernels import logit, mapped_rule
        kernel = logit._compiled_block_sums()
        print(type(kernel).__name__, kernel._cache.__class__.__name__)
        print(type(mapped_rule.mapped_rule_log_prob).__name__)
    """, NUMBA_CACHE_LOCATOR_CLASSES="ZipCacheLocator")
    lines = out.split("\n")
    if lines[0] == "cached":
        pytest.skip("this numba version ignores NUMBA_CACHE_LOCATOR_CLASSES")
    assert lines[0] == "no-cache"
    assert lines[1] == "3.0"
    assert lines[2] == "CPUDispatcher NullCache"
    assert lines[3] == "CPUDispatcher"
