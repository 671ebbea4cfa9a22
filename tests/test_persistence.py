"""Nothing a user saved may be lost.

* ``save`` writes a new file beside the target and renames it over the target only when
  it is complete and on disk: a save interrupted at any byte (the write, the sync or the
  rename failing) leaves the earlier file byte for byte as it was, and no stray file;
* results whose alternatives are labelled by any type the data layer accepts (int, float,
  str, bool, datetimes, Timedeltas, pandas Timestamps with or without a time zone, numpy
  scalars, tuples of these) save and load back equal, of the same types;
* the file is standard JSON: a strict reader that rejects ``NaN`` and ``Infinity`` tokens
  reads it;
* a truncated, altered or foreign file raises one error type, ``SpecificationError``,
  naming the file and what is wrong, never a raw JSONDecodeError, KeyError or TypeError.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import errno
import io
import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest

import choicemodels as cm
from choicemodels import results as results_module

FORMULA = "choice ~ gc + ttme | hinc"
MODES = ["air", "bus", "car", "train"]


@pytest.fixture(scope="module")
def travel():
    return cm.datasets.load_travel_mode()


@pytest.fixture(scope="module")
def logit(travel):
    return cm.Logit(FORMULA, data=travel, obs="individual", alt="mode", ref="car").fit()


@pytest.fixture(scope="module")
def nan_results():
    """Results with a NaN covariance (a coefficient not identified) and a NaN fit time."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3, 2))
    chosen = (X[:, :, 0] + rng.gumbel(size=(120, 3))).argmax(axis=1)
    X[20:, :, 1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cm.Logit.from_arrays(X, chosen, weights=np.r_[np.zeros(20), np.ones(100)]).fit()
    assert np.isnan(r.covariance).all()
    return dataclasses.replace(r, fit_time=float("nan"), gradient_norm=float("inf"))


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def _same(a, b) -> bool:
    """Equal and of the same type, NaN equal to NaN, element by element in lists."""
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    if a is pd.NaT or (isinstance(a, (np.datetime64, np.timedelta64)) and np.isnat(a)):
        return b is pd.NaT or bool(np.isnat(b))
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return bool(np.isnan(b))
    if isinstance(a, pd.Timestamp):
        return a == b and str(a.tz) == str(b.tz)
    return bool(a == b)


# ---- standard JSON ------------------------------------------------------------------------
def test_the_file_is_standard_json(nan_results, tmp_path):
    path = tmp_path / "r.json"
    nan_results.save(path)
    text = path.read_text(encoding="utf-8")
    raw = _strict(text)  # a strict reader accepts it
    assert raw["covariance"][0][0] == {"$float": "nan"} and raw["gradient_norm"] == {"$float": "inf"}
    back = cm.load_results(path)
    np.testing.assert_array_equal(back.covariance, nan_results.covariance)  # NaN where NaN
    assert np.isnan(back.fit_time) and back.gradient_norm == np.inf
    assert str(back.summary()) == str(nan_results.summary())
    # the dictionary form is standard JSON too (the command line prints it)
    _strict(json.dumps(nan_results.to_dict(), allow_nan=False))


def test_a_file_of_format_version_1_still_loads(logit, tmp_path):
    raw = logit.to_dict()
    raw["format_version"] = 1
    raw["fit_time"] = float("nan")  # version 1 wrote a bare NaN token
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    assert "NaN" in path.read_text()
    back = cm.load_results(path)
    assert np.isnan(back.fit_time) and back.llf == logit.llf and back.alternatives == logit.alternatives


# ---- labels of every type -----------------------------------------------------------------
LABELS = {
    "int": [1, 2, 3, 4],
    "float": [0.5, 1.5, 2.5, 3.5],
    "numpy int8": list(np.array([1, 2, 3, 4], dtype="int8")),
    "numpy float32": list(np.array([0.5, 1.5, 2.5, 3.5], dtype="float32")),
    "timestamp": [pd.Timestamp(t) for t in ("2020-01-01", "2020-01-02", "2020-01-03 12:30", "2020-01-04")],
    "timestamp with zone": list(pd.date_range("2020-03-28", periods=4, freq="D", tz="Europe/Paris")),
    "datetime64": list(pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]).values),
    "timedelta": [pd.Timedelta(hours=h) for h in range(4)],
    "tuple": [("a", 1), ("b", 1), ("c", 2.5), ("d", pd.Timestamp("2020-01-01"))],
    "category": ["air", "bus", "car", "train"],
}


@pytest.mark.parametrize("kind", list(LABELS))
def test_fits_labelled_by_any_type_save_and_load_back(travel, kind, tmp_path):
    labels = LABELS[kind]
    data = travel.assign(mode=travel["mode"].map(dict(zip(MODES, labels))))
    if kind == "category":
        data["mode"] = data["mode"].astype("category")
    r = cm.Logit(FORMULA, data=data, obs="individual", alt="mode", ref=labels[2]).fit()
    path = tmp_path / "r.json"
    r.save(path)
    _strict(path.read_text())
    back = cm.load_results(path)
    assert _same(list(back.alternatives), list(r.alternatives)), (back.alternatives, r.alternatives)
    assert _same(back.spec, r.spec) and back.to_dict() == r.to_dict()
    pd.testing.assert_frame_equal(back.predict(data), r.predict(), check_exact=True)


def test_binary_fit_labelled_by_bools(travel, tmp_path):
    two = travel[travel["mode"].isin(["car", "train"])]
    two = two[two.groupby("individual")["choice"].transform("sum") == 1]
    data = two.assign(mode=two["mode"] == "car")
    r = cm.Logit("choice ~ gc + ttme", data=data, obs="individual", alt="mode", ref=True).fit()
    r.save(tmp_path / "r.json")
    back = cm.load_results(tmp_path / "r.json")
    assert _same(list(back.alternatives), [False, True]) and back.spec["ref"] is True


EXOTIC = [
    [np.int64(-3), np.uint16(7), np.float64(0.1), np.bool_(True), np.str_("a")],
    [np.datetime64("2020-01-01T10:00:00.123456789", "ns"), np.timedelta64(5, "s"), np.datetime64("NaT", "ns")],
    [dt.date(2020, 2, 29), dt.datetime(2020, 1, 1, 12, 0, 0, 7), dt.timedelta(days=-1, microseconds=3)],
    [pd.Timestamp("2021-06-01 10:00:00.000000001"), pd.Timestamp("2021-06-01", tz="America/New_York"),
     pd.Timedelta(1, unit="ns"), pd.NaT],
    [float("nan"), float("inf"), -float("inf"), -0.0, 1e-320, 2**70, "$float", "", None],
    [(1, "a"), (np.int8(2), (pd.Timestamp("2020-01-01"), float("nan"))), ()],
]


@pytest.mark.parametrize("labels", EXOTIC, ids=["numpy", "numpy dates", "datetime", "pandas", "floats", "tuples"])
def test_any_label_round_trips_with_its_type(logit, labels, tmp_path):
    r = dataclasses.replace(
        logit, alternatives=tuple(labels), choice_counts=(),
        spec={**logit.spec, "ref": labels[0], "alternatives": list(labels), "options": {"x": labels, 3: "a", "$k": 1}},
    )
    r.save(tmp_path / "r.json")
    _strict((tmp_path / "r.json").read_text())
    back = cm.load_results(tmp_path / "r.json")
    assert _same(list(back.alternatives), list(labels))
    assert _same(back.spec, r.spec)


def test_a_value_without_a_file_form_is_named_and_nothing_is_written(logit, tmp_path):
    path = tmp_path / "r.json"
    logit.save(path)
    before = path.read_bytes()
    bad = dataclasses.replace(logit, spec={**logit.spec, "options": {"callback": object()}})
    with pytest.raises(cm.SpecificationError, match=r"spec\.options\.callback.*object"):
        bad.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["r.json"]


# ---- interrupted saves --------------------------------------------------------------------
class _FailingFile:
    """A binary file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, file, room: int):
        self.file, self.room = file, room

    def write(self, data) -> int:
        part = bytes(data[: self.room])
        self.file.write(part)
        self.room -= len(part)
        if len(part) < len(data):
            self.file.flush()  # the part is on disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(part)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def _fail_writes_after(monkeypatch, room: int) -> None:
    """Every file opened for writing from now on takes ``room`` bytes, then fails (whether
    opened by ``open``, ``io.open``, ``Path.open`` or ``os.fdopen``)."""
    for module, name in ((builtins, "open"), (io, "open"), (os, "fdopen")):
        real = getattr(module, name)

        def opener(file, mode="r", *args, real=real, **kwargs):
            handle = real(file, mode, *args, **kwargs)
            return _FailingFile(handle, room) if set(mode) & set("wax+") else handle

        monkeypatch.setattr(module, name, opener)


def _assert_kept(path, before: bytes, expected) -> None:
    assert path.read_bytes() == before
    assert cm.load_results(path).to_dict() == expected.to_dict()
    assert os.listdir(path.parent) == [path.name]  # no partial file left beside it


def test_a_save_interrupted_at_any_byte_keeps_the_earlier_file(logit, travel, monkeypatch, tmp_path):
    path = tmp_path / "r.json"
    logit.save(path)
    before = path.read_bytes()
    newer = cm.Probit(FORMULA, data=travel, obs="individual", alt="mode", ref="car",
                      integration="quadrature").fit()
    size = len(json.dumps(newer.to_dict(), indent=1).encode()) + 1
    for room in sorted({*range(0, size, 23), 1, size // 2, size - 2, size - 1}):
        _fail_writes_after(monkeypatch, room)
        with pytest.raises(OSError, match="No space left"):
            newer.save(path)
        monkeypatch.undo()
        _assert_kept(path, before, logit)
    monkeypatch.undo()
    newer.save(path)  # and a save that completes replaces it
    assert cm.load_results(path).to_dict() == newer.to_dict()


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_save_failing_at_the_sync_or_the_rename_keeps_the_earlier_file(logit, nan_results, step,
                                                                        monkeypatch, tmp_path):
    path = tmp_path / "r.json"
    logit.save(path)
    before = path.read_bytes()

    def fail(*args):
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match=f"{step} failed"):
        nan_results.save(path)
    monkeypatch.undo()
    _assert_kept(path, before, logit)


def test_a_first_save_that_fails_leaves_no_file(logit, monkeypatch, tmp_path):
    _fail_writes_after(monkeypatch, 100)
    with pytest.raises(OSError, match="No space left"):
        logit.save(tmp_path / "r.json")
    assert os.listdir(tmp_path) == []


def test_a_save_keeps_the_mode_of_the_file_it_replaces(logit, tmp_path):
    path = tmp_path / "r.json"
    logit.save(path)
    path.chmod(0o640)
    logit.save(path)
    assert path.stat().st_mode & 0o777 == 0o640


# ---- files that are not valid results -----------------------------------------------------
def _raises_clearly(path, what: str = "") -> None:
    with pytest.raises(cm.SpecificationError) as info:
        cm.load_results(path)
    message = str(info.value)
    assert str(path) in message and what in message, message
    assert type(info.value) is cm.SpecificationError  # not JSONDecodeError, a ValueError too


def test_a_file_truncated_at_any_byte_raises_the_clear_error(nan_results, tmp_path):
    source = tmp_path / "r.json"
    nan_results.save(source)
    data = source.read_bytes()
    cut = tmp_path / "cut.json"
    for k in range(len(data.rstrip())):
        cut.write_bytes(data[:k])
        _raises_clearly(cut)
    cut.write_bytes(data.rstrip())  # only the final newline gone: complete
    assert cm.load_results(cut).to_dict().keys() == nan_results.to_dict().keys()


def _tamper(raw: dict, change) -> dict:
    raw = json.loads(json.dumps(raw))
    change(raw)
    return raw


def _set(key, value):
    return lambda raw: raw.__setitem__(key, value)


TAMPERED = {
    "format_version missing": (lambda raw: raw.pop("format_version"), "format_version"),
    "format_version 99": (_set("format_version", 99), "version 99"),
    "format_version true": (_set("format_version", True), "version True"),
    "estimates text": (_set("estimates", "abc"), "estimates must be a list of numbers"),
    "estimates short": (lambda raw: raw["estimates"].pop(), "estimates has 7 entries, expected 8"),
    "estimates with a bool": (lambda raw: raw["estimates"].__setitem__(0, True), "estimates"),
    "estimates with a string": (lambda raw: raw["estimates"].__setitem__(0, "1.0"), "estimates"),
    "covariance rows": (lambda raw: raw["covariance"].pop(), "covariance must be a list of 8 rows"),
    "covariance row short": (lambda raw: raw["covariance"][3].pop(), "covariance[3] has 7 entries"),
    "covariance flat": (lambda raw: raw.__setitem__("covariance", sum(raw["covariance"], [])), "covariance"),
    "param_names numbers": (_set("param_names", list(range(8))), "param_names"),
    "param_names twice": (lambda raw: raw["param_names"].__setitem__(1, raw["param_names"][0]), "duplicates"),
    "nobs text": (_set("nobs", "210"), "nobs must be a non-negative integer"),
    "nobs bool": (_set("nobs", True), "nobs"),
    "n_beta too large": (_set("n_beta", 9), "n_beta is 9"),
    "converged text": (_set("converged", "yes"), "converged"),
    "llf null": (_set("llf", None), "llf must be a number"),
    "unknown kind": (_set("model_name", "Nested"), "unknown model kind 'Nested'"),
    "kind mismatch": (_set("model_name", "Probit"), "spec.model is 'Logit' but model_name is 'Probit'"),
    "cov_type": (_set("cov_type", "HC3"), "cov_type"),
    "alternatives text": (_set("alternatives", "air"), "alternatives"),
    "alternatives nested": (_set("alternatives", [["air"], ["bus"]]), "scalar labels"),
    "ref unknown": (lambda raw: raw["spec"].__setitem__("ref", "plane"), "spec.ref 'plane'"),
    "spec list": (_set("spec", []), "spec must be an object"),
    "choice_counts": (lambda raw: raw["choice_counts"].pop(), "choice_counts"),
    "extra_info": (_set("extra_info", [["a"]]), "extra_info"),
    "field missing": (lambda raw: raw.pop("llf"), "missing fields ['llf']"),
    "field unknown": (_set("formula_code", "x"), "unknown fields ['formula_code']"),
    "tag unknown": (_set("llf", {"$evil": 1}), "llf holds an invalid or unknown tagged value"),
    "float tag": (_set("llf", {"$float": "maybe"}), "llf holds an invalid"),
    "numpy tag object": (_set("alternatives", [{"$numpy": "O", "value": 1}, "b"]), "alternatives[0]"),
    "timestamp tag": (_set("alternatives", [{"$timestamp": "yesterday", "tz": None}, "b"]), "$timestamp"),
    "time zone unknown": (_set("alternatives", [{"$timestamp": "2020-01-01T00:00:00+00:00", "tz": "Mars/Olympus"}, "b"]),
                          "alternatives[0]"),
    "tag with extra key": (_set("llf", {"$float": "nan", "x": 1}), "tagged value with the keys"),
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_an_altered_file_raises_the_clear_error(logit, name, tmp_path):
    change, what = TAMPERED[name]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_tamper(logit.to_dict(), change)))
    _raises_clearly(path, what)


@pytest.mark.parametrize("content, what", [
    (b"", "not complete JSON"),
    (b"[1, 2, 3]", "JSON list"),
    (b'"results"', "JSON str"),
    (b'{"a": 1}', "no format_version"),
    (b"alt,choice\nair,1\n", "not complete JSON"),
    (b"\x89PNG\r\n\x1a\n\x00\xff", "not UTF-8"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_a_foreign_file_raises_the_clear_error(content, what, tmp_path):
    path = tmp_path / "foreign.json"
    path.write_bytes(content)
    _raises_clearly(path, what)


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        cm.load_results(tmp_path / "absent.json")


def test_a_save_into_a_missing_folder_names_the_file_asked_for(logit, tmp_path):
    target = tmp_path / "no-such-folder" / "r.json"
    with pytest.raises(FileNotFoundError) as info:
        logit.save(target)
    assert info.value.filename == str(target) and not (tmp_path / "no-such-folder").exists()


def test_arrays_in_the_specification_round_trip_with_their_dtype(logit, tmp_path):
    """A transform's state or factor levels stored in the specification as arrays."""
    state = {"mean": np.array([[1.5, np.nan], [np.inf, -2.0]]), "levels": np.array(["a", "bc"]),
             "codes": np.array([1, 2], dtype="int8"), "mixed": np.array(["x", ("a", 1)], dtype=object),
             "when": pd.to_datetime(["2020-01-01T10:00:00.000000001"]).values}
    r = dataclasses.replace(logit, spec={**logit.spec, "options": {"state": state}})
    r.save(tmp_path / "r.json")
    _strict((tmp_path / "r.json").read_text())
    back = cm.load_results(tmp_path / "r.json").spec["options"]["state"]
    for key, array in state.items():
        assert back[key].dtype == array.dtype and back[key].shape == array.shape, key
        assert _same(back[key].tolist(), array.tolist()), key
