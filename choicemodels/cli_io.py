"""Input helpers of the command line: data files, bundled datasets, cluster labels.

Everything here raises :class:`~choicemodels.ChoiceDataError` or
:class:`~choicemodels.SpecificationError` with a message that names the file, dataset or
column at fault; :mod:`choicemodels.cli` turns those into ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pandas as pd

from choicemodels.data import check_columns
from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = ["read_table", "load_bundled", "situation_labels", "parse_nests", "parse_names",
           "parse_random", "Roles", "PARQUET_SUFFIXES"]

PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_BYTES = 64 * 1024
_SNIFF_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Roles:
    """Default formula and column roles of a bundled dataset (``None``: the user must give it)."""

    formula: str | None = None
    obs: str | None = None
    alt: str | None = None
    ref: str | None = None
    avail: str | None = None


# Defaults of the bundled datasets. TravelMode: the specification of its description
# (Greene's model); the synthetic sets: the formula they were simulated from
# (data/synthetic_truth.json); Fishing: mlogit's first example (mode ~ price + catch, its
# vignette's McFadden R2 0.17823); Electricity and Train: the logit with the attributes of
# their mixed logit examples (mlogit, xlogit), no constants (unlabelled alternatives);
# Swissmetro is stored wide and is reshaped with the recipe of its description, which fixes
# the columns but leaves the specification to the user, as for the heating and cooling data
# (mlogit's exercises build their variables from it).
_TRAVEL_MODE = Roles("choice ~ gc + ttme | hinc", "individual", "mode", "car")
_SYNTHETIC = Roles("choice ~ cost + time | income", "obs", "alt")
_SWISSMETRO = Roles(None, "obs", "mode", avail="AV")
_FISHING = Roles("mode ~ price + catch", "id", "alt")
_ELECTRICITY = Roles("choice ~ pf + cl + loc + wk + tod + seas | 0", "chid", "alt")
_TRAIN = Roles("choice ~ price + time + change + comfort | 0", "chid", "alt")
_DEFAULTS = {"travel_mode": _TRAVEL_MODE, "synthetic_logit": _SYNTHETIC,
             "synthetic_probit": _SYNTHETIC, "swissmetro": _SWISSMETRO, "fishing": _FISHING,
             "electricity": _ELECTRICITY, "train": _TRAIN, "heating_cooling": Roles(None, "id", "alt")}


def read_table(path: str, sep: str | None = None) -> pd.DataFrame:
    """Read a long-format data file: Parquet by extension (``.parquet``, ``.pq``), else CSV.

    The CSV separator is ``sep``, or when ``None`` the one :class:`csv.Sniffer` finds among
    ``, ; tab |`` in the first 64 KiB (a comma when it finds none).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if file.suffix.lower() in PARQUET_SUFFIXES:
        return _read_parquet(file, path)
    if sep is None:
        sep = _sniff(file, path)
    try:
        data = pd.read_csv(file, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ChoiceDataError(f"cannot read {path} as CSV (separator {sep!r}): {exc}") from None
    header = str(data.columns[0])
    if data.shape[1] == 1 and any(d in header for d in _SNIFF_DELIMITERS if d != sep):
        raise ChoiceDataError(
            f"{path} reads as a single column {header!r} with the separator {sep!r}; give the "
            "file's separator with --sep (or leave --sep out to detect it)."
        )
    return data


def _sniff(file: Path, path: str) -> str:
    with file.open("rb") as f:
        sample = f.read(_SNIFF_BYTES)
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the end of the sample
            raise ChoiceDataError(f"cannot read {path} as CSV: it is not UTF-8 text ({exc}).") from None
        text = sample[: exc.start].decode("utf-8")
    lines = text.splitlines()
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _read_parquet(file: Path, path: str) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SpecificationError(
            f"reading the Parquet file {path} needs pyarrow: pip install pyarrow"
        ) from None
    try:
        return pd.read_parquet(file)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ChoiceDataError(f"cannot read {path} as Parquet: {exc}") from None


def load_bundled(name: str) -> tuple[pd.DataFrame, Roles]:
    """A bundled dataset in long format with its default formula and column roles."""
    from choicemodels.datasets import load_dataset

    data = load_dataset(name)
    if name == "swissmetro":
        from choicemodels.data import wide_to_long

        data = wide_to_long(data[data["CHOICE"] != 0], alternatives={1: "TRAIN", 2: "SM", 3: "CAR"},
                            choice="CHOICE", avail="AV", sep="_", alt_position="prefix",
                            alt_name="mode")
    return data, _DEFAULTS.get(name, Roles())


def situation_labels(data: pd.DataFrame, obs: str, column: str) -> pd.Series:
    """One cluster label per choice situation from ``column``, indexed by the ``obs`` id.

    The labels are in order of first appearance of the situations (the order of the
    models' situations). Raises if the column is absent, has missing values or varies
    within a situation.
    """
    check_columns(data, [obs], "--obs")
    check_columns(data, [column], "--groups")
    values = data[column]
    if values.isna().any():
        rows = data.index[values.isna().to_numpy()][:5].tolist()
        raise ChoiceDataError(
            f"--groups column {column!r} has {int(values.isna().sum())} missing values (rows {rows}); "
            "every situation needs a cluster label."
        )
    per_situation = data.groupby(obs, sort=False)[column]
    varies = per_situation.nunique() > 1
    if varies.any():
        first = varies.index[varies.to_numpy()][:5].tolist()
        raise ChoiceDataError(
            f"--groups column {column!r} varies within {int(varies.sum())} situations "
            f"({obs!r} {first}); it must hold one cluster label per situation "
            "(e.g. a person or household id)."
        )
    return per_situation.first()



def parse_nests(text: str, option: str = "--nests") -> dict[str, list[str]]:
    """``"fly=air;ground=train,bus,car"`` -> ``{"fly": ["air"], "ground": ["train", "bus", "car"]}``.

    Nests are separated by ``;``, each ``name=alternative,alternative,...``; spaces around
    the parts are dropped. Raises :class:`SpecificationError` naming the part at fault: no
    ``=``, an empty name or nest, an empty alternative (``a,,b``), a nest named twice, an
    alternative in two nests. Whether the alternatives exist is the model's check.
    """
    example = f'{option} "fly=air;ground=train,bus,car"'
    parts = [p.strip() for p in str(text).split(";")]
    if not any(parts):
        raise SpecificationError(f"{option} is empty; give the nests as {example}.")
    nests: dict[str, list[str]] = {}
    home: dict[str, str] = {}
    for part in parts:
        if not part:
            raise SpecificationError(f"{option} {text!r} has an empty nest (';;' or a ';' at an end); "
                                     f"write {example}.")
        name, eq, members = (x.strip() for x in part.partition("="))
        if not eq:
            raise SpecificationError(f"{option}: nest {part!r} has no '='; write name=alternative,..., "
                                     f"e.g. {example}.")
        if not name:
            raise SpecificationError(f"{option}: nest {part!r} has no name before '='.")
        if name in nests:
            raise SpecificationError(f"{option}: nest {name!r} is given twice; list its alternatives once.")
        alts = [a.strip() for a in members.split(",")]
        if not members.strip():
            raise SpecificationError(f"{option}: nest {name!r} is empty; give it at least one alternative.")
        if not all(alts):
            raise SpecificationError(f"{option}: nest {name!r} has an empty alternative in {members!r} "
                                     "(two commas, or one at an end).")
        for a in alts:
            if a in home:
                where = "twice in nest" if home[a] == name else f"in nests {home[a]!r} and"
                raise SpecificationError(f"{option}: alternative {a!r} is {where} {name!r}; put every "
                                         "alternative in exactly one nest.")
            home[a] = name
        nests[name] = alts
    return nests


def parse_random(text: str, option: str = "--random") -> dict[str, str]:
    """``"price=normal,-time=lognormal"`` -> ``{"price": "normal", "-time": "lognormal"}``.

    Pairs ``coefficient=distribution`` separated by ``,`` (``-name`` with ``lognormal``: a
    negative lognormal coefficient); spaces around the parts are dropped. Raises
    :class:`SpecificationError` naming the part at fault: no ``=``, an empty name, an
    unknown distribution, a coefficient given twice. Whether the coefficient is in the
    formula is the model's check.
    """
    from choicemodels.models.mixed import Distribution

    allowed = get_args(Distribution)
    example = f'{option} "price=normal,time=lognormal"'
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise SpecificationError(f"{option} is empty; give the random coefficients as {example}.")
    random: dict[str, str] = {}
    for part in parts:
        name, eq, dist = (x.strip() for x in part.partition("="))
        if not part:
            raise SpecificationError(f"{option} {text!r} has an empty entry (two commas, or one at "
                                     f"an end); write {example}.")
        if not eq:
            raise SpecificationError(f"{option}: {part!r} has no '='; write coefficient=distribution, "
                                     f"e.g. {example}.")
        if not name.lstrip("-"):
            raise SpecificationError(f"{option}: {part!r} has no coefficient name before '='.")
        if dist not in allowed:
            raise SpecificationError(f"{option}: unknown distribution {dist!r} for {name!r}; choose "
                                     f"from {', '.join(allowed)}.")
        if name.lstrip("-") in {k.lstrip("-") for k in random}:
            raise SpecificationError(f"{option}: coefficient {name.lstrip('-')!r} is given twice; "
                                     "give each random coefficient once.")
        random[name] = dist
    return random


def parse_names(text: str, known: tuple[str, ...], option: str) -> list[str]:
    """``"logit,nested,probit"`` -> ``["logit", "nested", "probit"]``, each one of ``known``."""
    names = [n.strip() for n in str(text).split(",")]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpecificationError(f"{option}: unknown name(s) {unknown} in {text!r}; choose from "
                                 f"{', '.join(known)} (comma-separated).")
    return names
