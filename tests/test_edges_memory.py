"""Requests too large for the machine are refused before anything is allocated, and the
Gumbel-max check counts its draws in blocks (memory O(block) whatever the draws)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import choicemodels as cm
from choicemodels import memory, random_utility, simulated_data


def test_available_memory_reads_meminfo_capped_by_the_cgroup_limit(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  32000000 kB\nMemFree:  1000 kB\nMemAvailable:  2000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    monkeypatch.setattr(memory, "_MEMINFO", meminfo)
    monkeypatch.setattr(memory, "_CGROUP", cgroup)
    assert memory.available_memory() == 2_000_000 * 1024  # no cgroup files: meminfo alone
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("5\n")
    assert memory.available_memory() == 2_000_000 * 1024  # no limit
    (cgroup / "memory.max").write_text("1000000000\n")
    (cgroup / "memory.current").write_text("400000000\n")
    assert memory.available_memory() == 600_000_000  # the limit less the usage is smaller
    monkeypatch.setattr(memory, "_MEMINFO", tmp_path / "absent")
    (cgroup / "memory.max").write_text("max\n")
    assert memory.available_memory() == memory.os.sysconf("SC_PHYS_PAGES") * memory.os.sysconf("SC_PAGE_SIZE")


def test_check_memory_names_the_request_the_sizes_and_the_option(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 3 * 1024**3)
    memory.check_memory(3 * 1024**3, "exactly what is there", "n")  # fits
    with pytest.raises(cm.SpecificationError) as err:
        memory.check_memory(1.5 * 1024**4, "the GHK draws (10**9 x 210 x 3)", "draws")
    assert str(err.value) == (
        "the GHK draws (10**9 x 210 x 3) would need about 1.5 TiB of memory, more than the "
        "3 GiB available; lower draws."
    )
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no check
    memory.check_memory(1e30, "anything", "n")


@pytest.mark.parametrize("n_obs, n_alts", [(10**12, 3), (1000, 10**10), (10**7, 10**7)])
def test_simulate_dataset_refuses_sizes_beyond_the_memory_before_allocating(n_obs, n_alts):
    tracemalloc.start()
    try:
        with pytest.raises(cm.SpecificationError, match=r"n_obs=.*would need about .*iB of memory.*lower n_obs"):
            cm.simulate_dataset(n_obs, n_alts, [1.0, -1.0], rng=0)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20  # nothing big was allocated
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("J, K, gamma, avail_prob", [(3, 2, 1, None), (6, 4, 0, 0.7), (2, 1, 3, None)])
def test_simulate_dataset_memory_estimate_is_close_to_the_measured_peak(monkeypatch, J, K, gamma, avail_prob):
    estimates = []
    monkeypatch.setattr(simulated_data, "check_memory", lambda nbytes, what, option: estimates.append(nbytes))
    args = dict(gamma={f"z{g}": [0.2] * (J - 1) for g in range(gamma)}, avail_prob=avail_prob, rng=1)
    cm.simulate_dataset(100, J, [1.0] * K, **args)  # warm-up: imports and caches
    tracemalloc.start()
    try:
        cm.simulate_dataset(60_000, J, [1.0] * K, **args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.95 * peak <= estimates[-1] <= 1.3 * peak


def test_simulate_choices_refuses_a_broadcast_view_too_large_to_work_on():
    V = np.broadcast_to(np.array([0.0, 1.0, -1.0]), (10**12, 3))  # a view: no memory yet
    with pytest.raises(cm.SpecificationError, match=r"shape \(1000000000000, 3\).*lower the number of rows of V"):
        cm.simulate_choices(V, rng=0)
    assert cm.simulate_choices(V[:5], rng=0).shape == (5,)  # small views still work


def test_gumbel_max_check_memory_does_not_grow_with_the_draws():
    cm.gumbel_max_check([1.0, 0.0, -1.0], draws=1000, rng=0)  # warm-up
    peaks = []
    for draws in (100_000, 4_000_000):
        tracemalloc.start()
        try:
            check = cm.gumbel_max_check([1.0, 0.0, -1.0], draws=draws, rng=0)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert check.frequencies.sum() == draws
    # 4 million choices held at once would take 32 MB; counted by blocks, under 1 MB
    assert peaks[1] < 1 << 20
    assert peaks[1] < 2 * peaks[0]


@settings(max_examples=40, deadline=None)
@given(
    V=st.lists(st.one_of(st.floats(-30, 30), st.just(-np.inf)), min_size=2, max_size=6).filter(
        lambda v: any(np.isfinite(v))),
    draws=st.integers(1, 3000),
    chunk=st.integers(1, 200),
    temperature=st.sampled_from([0.5, 1.0, 3.0]),
    errors=st.sampled_from(["gumbel", "normal"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gumbel_max_counts_by_blocks_equal_one_block(V, draws, chunk, temperature, errors, seed):
    # the frequencies counted over blocks of any size equal those of one block holding every
    # draw; they add up to the draws and never choose an unavailable alternative
    one = cm.gumbel_max_check(V, draws=draws, temperature=temperature, errors=errors, rng=seed)
    saved = random_utility._CHUNK_ELEMENTS
    random_utility._CHUNK_ELEMENTS = chunk
    try:
        blocks = cm.gumbel_max_check(V, draws=draws, temperature=temperature, errors=errors, rng=seed)
    finally:
        random_utility._CHUNK_ELEMENTS = saved
    np.testing.assert_array_equal(blocks.frequencies, one.frequencies)
    assert blocks.frequencies.sum() == draws
    assert not blocks.frequencies[np.isneginf(V)].any()
