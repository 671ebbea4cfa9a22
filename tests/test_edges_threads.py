"""The logit kernel's thread pool under concurrent callers.

Several Python threads evaluating the compiled (threaded) sums at once, each with its own
problem size and thread count, right after the pool was reset (as in a process's first
fits), must each get exactly the single-thread sums: the per-block sums are added in block
order, so the thread count changes no bit.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from choicemodels.kernels import logit as logit_module
from choicemodels.kernels.logit import logit_loglike_derivatives


def problem(N, J, K, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, J, K))
    avail = rng.random((N, J)) > 0.2
    avail[:, 0] = True
    chosen = np.argmax(np.where(avail, X.sum(axis=2) + rng.gumbel(size=(N, J)), -np.inf), axis=1)
    beta = np.linspace(-0.5, 0.5, K)
    weights = rng.uniform(0.5, 2.0, N)
    return beta, X, chosen, avail, weights


def test_concurrent_first_fits_of_different_sizes_share_the_pool_safely():
    # four callers, each asking for a different number of pool threads (1 to 4 workers:
    # every new request is larger than the last, so the pool grows while others submit)
    cases = [(N, 4, 5, seed, threads) for seed, (N, threads) in
             enumerate([(2000, 2), (2600, 3), (3300, 4), (4000, 5)])]
    problems = [problem(N, J, K, seed) for N, J, K, seed, _ in cases]
    for _, X, _, _, _ in problems:
        assert X.size > logit_module.NUMPY_MAX_SIZE  # the compiled, threaded route
    expected = [logit_loglike_derivatives(*p, chunk_size=128, threads=1) for p in problems]
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: widen every race
    errors: list[BaseException] = []
    try:
        for _ in range(100):
            if logit_module._pool is not None:
                logit_module._pool.shutdown()
            logit_module._forget_thread_pool()  # as in a fresh process: no pool yet
            barrier = threading.Barrier(len(cases))
            results: list = [None] * len(cases)

            def run(i):
                try:
                    barrier.wait()
                    results[i] = logit_loglike_derivatives(
                        *problems[i], chunk_size=128, threads=cases[i][4])
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            workers = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            if errors:
                raise errors[0]
            for got, want in zip(results, expected):
                assert got[0] == want[0]
                np.testing.assert_array_equal(got[1], want[1])
                np.testing.assert_array_equal(got[2], want[2])
    finally:
        sys.setswitchinterval(old_interval)
