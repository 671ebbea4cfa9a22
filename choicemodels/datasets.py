"""Bundled datasets: the files of the top-level ``data/`` folder.

``data/`` installs as the resource package ``choicemodels._datafiles`` (read with
:mod:`importlib.resources`, so the loaders work from a wheel); in a source checkout the
folder is read directly.

Each loader returns a new DataFrame; with ``return_descr=True`` it returns
``(frame, description)`` instead. The descriptions are also the module constants
``TRAVEL_MODE_DESCR``, ``SWISSMETRO_DESCR``, ``FISHING_DESCR``,
``ELECTRICITY_DESCR``, ``TRAIN_DESCR`` and ``HEATING_COOLING_DESCR``. Provenance and licences:
``data/README.md``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "list_datasets",
    "load_dataset",
    "load_travel_mode",
    "load_swissmetro",
    "load_fishing",
    "load_electricity",
    "load_train",
    "load_heating_cooling",
    "TRAVEL_MODE_DESCR",
    "SWISSMETRO_DESCR",
    "FISHING_DESCR",
    "ELECTRICITY_DESCR",
    "TRAIN_DESCR",
    "HEATING_COOLING_DESCR",
]

TRAVEL_MODE_DESCR = """\
TravelMode: choice of travel mode between Sydney and Melbourne (Greene and Hensher, 1997;
Greene, Econometric Analysis, table F18-2). 210 individuals x 4 modes = 840 rows, long format.

individual  situation id, 1..210
mode        'air', 'train', 'bus', 'car'
choice      1 for the chosen mode, else 0
ttme        terminal waiting time (minutes), 0 for car
invc        in-vehicle cost, all stages (dollars)
invt        in-vehicle time, all stages (minutes)
gc          generalised cost: invc + invt x value of travel time savings (dollars)
hinc        household income ($1000s), situation-level
psize       travelling party size, situation-level

Source: statsmodels.datasets.modechoice (public domain).
Use: Logit("choice ~ gc + ttme | hinc", data, obs="individual", alt="mode", ref="car").
"""

SWISSMETRO_DESCR = """\
Swissmetro stated-preference survey (Bierlaire, Axhausen and Abay, 2001), the original
wide file as distributed with Biogeme: 10,728 choice situations (1,192 respondents x 9),
one row each, 28 integer columns, tab-separated.

Alternatives: 1 = TRAIN, 2 = SM (Swissmetro), 3 = CAR.
CHOICE      chosen alternative 1/2/3; 0 = unknown (9 rows; drop them before estimating)
TRAIN_AV, SM_AV, CAR_AV   availability (0/1); CAR_AV = 0 for respondents without a car
TRAIN_TT, SM_TT, CAR_TT   travel time (minutes)
TRAIN_CO, SM_CO, CAR_CO   cost (CHF); train and SM cost is covered by an annual pass when GA = 1
TRAIN_HE, SM_HE           headway (minutes)
SM_SEATS    Swissmetro seat configuration (1 = airline seats)
ID          respondent; GROUP, SURVEY, SP (1 = stated preference), PURPOSE, FIRST, TICKET,
WHO, LUGGAGE, AGE, MALE, INCOME, GA, ORIGIN, DEST: respondent and trip characteristics
(coding: Antonini et al. (2007) Swissmetro: description of the data; see data/README.md).

Long format: wide_to_long(df[df.CHOICE != 0], alternatives={1: "TRAIN", 2: "SM", 3: "CAR"},
choice="CHOICE", avail="AV", sep="_", alt_position="prefix", alt_name="mode").
Citation: Bierlaire, M., Axhausen, K. and Abay, G. (2001) The acceptance of modal innovation:
The case of Swissmetro. Swiss Transport Research Conference.
"""

FISHING_DESCR = """\
Fishing: choice of a recreational fishing mode by 1,182 anglers in the United States
(Thomson and Crooke, 1991; Herriges and Kling, 1999; Cameron and Trivedi, 2005, ch. 15),
the data of R's mlogit ("Fishing") and Ecdat. Long format: 1182 situations x 4 modes.

id        situation id, 1..1182 (the row of the wide file)
alt       'beach', 'pier', 'boat' (private boat), 'charter' (charter boat)
income    monthly income (US dollars), situation-level
price     price of the mode (US dollars)
catch     catch rate of the mode
mode      1 for the chosen mode, else 0 (named as in mlogit's long data)

The wide file (load_fishing(wide=True)) has mlogit's columns: mode (the chosen label),
price.beach .. price.charter, catch.beach .. catch.charter, income.
Use: Logit("mode ~ price + catch", data, obs="id", alt="alt") is mlogit's
mlogit(mode ~ price + catch, data = Fish) (reference alternative 'beach').
Licence: GPL (>= 2), as the R packages Ecdat and mlogit that distribute it.
"""

ELECTRICITY_DESCR = """\
Electricity: stated choice of an electricity supplier by 361 households in the United
States (Revelt and Train, 2000; Huber and Train, 2001; Train, Discrete Choice Methods with
Simulation, ch. 11), the data of R's mlogit ("Electricity"). Each household answered up to
12 choice tasks (8 to 12; 4,308 in all) among 4 hypothetical suppliers. Long format:
4,308 situations x 4 suppliers = 17,232 rows.

id        household (person), 1..361: the panel
chid      choice situation, 1..4308 (the row of the wide file)
alt       supplier 1..4 (unlabelled: the order of the task)
choice    1 for the chosen supplier, else 0
pf        fixed price (cents per kWh); 0 when the supplier offers a TOD or seasonal rate
cl        contract length (years); 0 = no contract
loc       1 if the supplier is a local company
wk        1 if the supplier is a well-known company
tod       1 for a time-of-day rate (11 cents per kWh 8am-8pm, 5 cents 8pm-8am)
seas      1 for a seasonal rate (10 cents summer, 8 winter, 6 spring and fall)

The wide file (load_electricity(wide=True)) has mlogit's columns: choice (1..4), id,
pf1..pf4, cl1..cl4, loc1..loc4, wk1..wk4, tod1..tod4, seas1..seas4.
Use: MixedLogit("choice ~ pf + cl + loc + wk + tod + seas | 0", data, obs="chid", alt="alt",
panel="id", random={v: "normal" for v in ("pf", "cl", "loc", "wk", "tod", "seas")}).
Licence: GPL (>= 2), as the R package mlogit that distributes it.
"""

TRAIN_DESCR = """\
Train: stated preferences between two train trips by 235 Dutch travellers (Ben-Akiva,
Bolduc and Bradley, 1993; Meijer and Rouwendal, 2006), the data of R's mlogit ("Train")
and Ecdat. 2,929 choice situations (5 to 19 per traveller) between trips A and B. Long
format: 2,929 situations x 2 trips = 5,858 rows.

id        traveller (person), 1..235: the panel
chid      choice situation, 1..2929
alt       'A', 'B'
choice    1 for the chosen trip, else 0
price     price of the trip (cents of guilders)
time      travel time (minutes)
change    number of changes
comfort   comfort class: 0, 1 or 2 in decreasing comfort

The wide file (load_train(wide=True)) has mlogit's columns: choiceid, id, choice ('A' or
'B'), price_A, price_B, time_A, time_B, change_A, change_B, comfort_A, comfort_B.
mlogit's vignette uses price / 100 / 2.20371 (euros), time / 60 (hours) and all four
attributes with the opposite sign.
Licence: GPL (>= 2), as the R packages mlogit and Ecdat that distribute it.
"""

HEATING_COOLING_DESCR = """\
HC: choice of heating and central-cooling system for 250 new single-family houses in
California (Train and Croissant, mlogit's exercise 2 "Nested logit model"; Ecdat's and
mlogit's "HC"). Long format: 250 situations x 7 systems = 1,750 rows.

id       situation id, 1..250 (the row of the wide file)
alt      'gcc' gas central heat with cooling, 'ecc' electric central resistance heat with
         cooling, 'erc' electric room resistance heat with cooling, 'hpc' heat pump (heats
         and cools), 'gc', 'ec', 'er' the same heating without cooling
ich      installation cost of the heating part (US dollars)
och      operating cost of the heating part (US dollars per year)
icca     installation cost of central cooling (US dollars), situation-level
occa     operating cost of central cooling (US dollars per year), situation-level
income   annual household income ($1000s), situation-level
depvar   1 for the chosen system, else 0

The full cost of a cooling system is the heating part plus icca (occa). The costs are in
dollars, as in mlogit 2.0 and Ecdat; mlogit's exercises were printed with costs in
hundreds of dollars (mlogit before 2.0): divide ich, och, icca and occa by 100 to
reproduce them. Licence: GPL (>= 2), as the R packages Ecdat and mlogit.
"""

_TRAVEL_MODE_DTYPES = {
    "individual": "int64", "mode": "str", "choice": "int64", "ttme": "float64",
    "invc": "float64", "invt": "float64", "gc": "float64", "hinc": "float64", "psize": "float64",
}


_RESOURCE_PACKAGE = "choicemodels._datafiles"


def _root() -> Traversable:
    """The folder of bundled data files (installed package, else the source checkout)."""
    try:
        return files(_RESOURCE_PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "data"


def _path(filename: str) -> Traversable:
    return _root().joinpath(filename)


def _read(filename: str, **options) -> pd.DataFrame:
    """The bundled file ``filename`` read by ``pandas.read_csv(**options)``."""
    with _path(filename).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, **options)


def load_travel_mode(*, return_descr: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """Greene's TravelMode data, long format, 840 rows (210 individuals x 4 modes).

    Columns: individual, mode ('air', 'train', 'bus', 'car'), choice (0/1), ttme, invc,
    invt, gc, hinc, psize; see :data:`TRAVEL_MODE_DESCR`.

    Parameters
    ----------
    return_descr : bool, default False
        Also return the description :data:`TRAVEL_MODE_DESCR`.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call; ``(frame, description)`` with ``return_descr=True``.

    Examples
    --------
    >>> df = load_travel_mode()
    >>> df.shape
    (840, 9)
    >>> df.head(4)
       individual   mode  choice  ttme  invc   invt    gc  hinc  psize
    0           1    air       0  69.0  59.0  100.0  70.0  35.0    1.0
    1           1  train       0  34.0  31.0  372.0  71.0  35.0    1.0
    2           1    bus       0  35.0  25.0  417.0  70.0  35.0    1.0
    3           1    car       1   0.0  10.0  180.0  30.0  35.0    1.0
    >>> df, descr = load_travel_mode(return_descr=True)
    >>> descr.splitlines()[0]
    'TravelMode: choice of travel mode between Sydney and Melbourne (Greene and Hensher, 1997;'
    """
    frame = _read("travel_mode.csv", dtype=_TRAVEL_MODE_DTYPES)
    return (frame, TRAVEL_MODE_DESCR) if return_descr else frame


def load_swissmetro(*, return_descr: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """The Swissmetro survey in its original wide layout, 10,728 rows x 28 int64 columns.

    Coding is described in :data:`SWISSMETRO_DESCR`; CHOICE is 1 (TRAIN), 2 (SM), 3 (CAR)
    or 0 (unknown). :func:`~choicemodels.wide_to_long` turns it into long format.

    Parameters
    ----------
    return_descr : bool, default False
        Also return the description :data:`SWISSMETRO_DESCR`.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call; ``(frame, description)`` with ``return_descr=True``.

    Examples
    --------
    >>> sm = load_swissmetro()
    >>> sm.shape
    (10728, 28)
    >>> sm[["TRAIN_TT", "SM_TT", "CAR_TT", "CHOICE"]].head(2)
       TRAIN_TT  SM_TT  CAR_TT  CHOICE
    0       112     63     117       2
    1       103     60     117       2
    """
    frame = _read("swissmetro.dat", sep="\t")
    return (frame, SWISSMETRO_DESCR) if return_descr else frame


_FISHING_MODES = ("beach", "pier", "boat", "charter")  # the column order of the wide file


def load_fishing(
    *, wide: bool = False, return_descr: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """The Fishing mode-choice data (mlogit's and Ecdat's), long format by default.

    Long: 4,728 rows (1,182 situations x 4 modes) with the columns id, alt ('beach',
    'pier', 'boat', 'charter'), income, price, catch and mode (0/1), the names of mlogit's
    long data, so that mlogit's formulas carry over. ``wide=True``: the file itself, one
    row per situation with mlogit's columns (mode holds the chosen label). See
    ``FISHING_DESCR``.

    Parameters
    ----------
    wide : bool, default False
        Return the file as it is: 1,182 rows, one per situation, with the columns mode
        (the chosen label), price.beach .. price.charter, catch.beach .. catch.charter and
        income (:func:`~choicemodels.wide_to_long` turns it into the long form).
    return_descr : bool, default False
        Also return the description ``FISHING_DESCR``.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call; ``(frame, description)`` with ``return_descr=True``.

    Examples
    --------
    >>> df = load_fishing()
    >>> df.shape
    (4728, 6)
    >>> df.head(4)
       id      alt     income   price   catch  mode
    0   1    beach  7083.3317  157.93  0.0678     0
    1   1     pier  7083.3317  157.93  0.0503     0
    2   1     boat  7083.3317  157.93  0.2601     0
    3   1  charter  7083.3317  182.93  0.5391     1
    >>> load_fishing(wide=True).shape
    (1182, 10)
    >>> import choicemodels as cm
    >>> r = cm.Logit("mode ~ price + catch", data=df, obs="id", alt="alt").fit()
    >>> round(r.prsquared, 5)  # mlogit: McFadden R^2 0.17823
    0.17823
    """
    from choicemodels.data import wide_to_long

    frame = _read("fishing.csv")
    if not wide:
        frame = wide_to_long(frame.assign(id=range(1, len(frame) + 1)), alternatives=_FISHING_MODES,
                             choice="mode", obs="id", sep=".")
    return (frame, FISHING_DESCR) if return_descr else frame

_ELECTRICITY_VARS = ("pf", "cl", "loc", "wk", "tod", "seas")


def load_electricity(
    *, wide: bool = False, return_descr: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """Train's Electricity supplier data (mlogit's ``Electricity``), long format by default.

    Stated choices of 361 households among four electricity suppliers, up to 12 tasks per
    household (4,308 situations): the panel data of Revelt and Train's mixed logit. Long:
    17,232 rows with the columns id (household, the panel), chid (situation), alt (1..4),
    choice (0/1) and the attributes pf, cl, loc, wk, tod, seas, sorted by chid and alt; the
    names and values of xlogit's ``electricity_long.csv``. Each household has one set of
    random coefficients :math:`\\beta_n` across its situations :math:`t`, so the mixed
    logit's likelihood of household :math:`n` is

    .. math::

        L_n = \\int \\prod_t \\frac{\\exp(x_{n t i_{nt}}' \\beta)}
        {\\sum_j \\exp(x_{ntj}' \\beta)} \\, f(\\beta) \\, d\\beta .

    See ``ELECTRICITY_DESCR`` for the coding.

    Parameters
    ----------
    wide : bool, default False
        Return the file as it is: 4,308 rows, one per situation, with mlogit's columns
        choice (the chosen supplier, 1..4), id, pf1..pf4, cl1..cl4, loc1..loc4, wk1..wk4,
        tod1..tod4 and seas1..seas4.
    return_descr : bool, default False
        Also return the description ``ELECTRICITY_DESCR``.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call (all columns int64); ``(frame, description)`` with
        ``return_descr=True``.

    Examples
    --------
    >>> df = load_electricity()
    >>> df.shape
    (17232, 10)
    >>> df.head(4)
       id  chid  alt  choice  pf  cl  loc  wk  tod  seas
    0   1     1    1       0   7   5    0   1    0     0
    1   1     1    2       0   9   1    1   0    0     0
    2   1     1    3       0   0   0    0   0    0     1
    3   1     1    4       1   0   5    0   1    1     0
    >>> df["id"].nunique(), df["chid"].nunique()
    (361, 4308)
    >>> load_electricity(wide=True).shape
    (4308, 26)
    """
    from choicemodels.data import wide_to_long

    frame = _read("electricity.csv")
    if not wide:
        frame = wide_to_long(frame.assign(chid=range(1, len(frame) + 1)), alternatives=(1, 2, 3, 4),
                             choice="choice", obs="chid", sep="")
        frame = frame[["id", "chid", "alt", "choice", *_ELECTRICITY_VARS]].astype("int64")
        frame = frame.sort_values(["chid", "alt"], kind="stable").reset_index(drop=True)
    return (frame, ELECTRICITY_DESCR) if return_descr else frame

_TRAIN_VARS = ("price", "time", "change", "comfort")


def load_train(*, wide: bool = False, return_descr: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """The Dutch Train stated-preference data (mlogit's ``Train``), long format by default.

    Choices between two hypothetical train trips, A and B, by 235 travellers answering 5 to
    19 tasks each (2,929 situations): mlogit's panel mixed logit example. Long: 5,858 rows
    with the columns id (traveller, the panel), chid (situation), alt ('A', 'B'), choice
    (0/1) and the attributes price (cents of guilders), time (minutes), change and comfort
    (0 best to 2 worst), sorted by chid and alt. See ``TRAIN_DESCR``.

    Parameters
    ----------
    wide : bool, default False
        Return the file as it is: 2,929 rows, one per situation, with mlogit's columns
        choiceid, id, choice ('A' or 'B'), price_A, price_B, time_A, time_B, change_A,
        change_B, comfort_A and comfort_B.
    return_descr : bool, default False
        Also return the description ``TRAIN_DESCR``.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call; ``(frame, description)`` with ``return_descr=True``.

    Examples
    --------
    >>> df = load_train()
    >>> df.shape
    (5858, 8)
    >>> df.head(2)
       id  chid alt  choice  price  time  change  comfort
    0   1     1   A       1   2400   150       0        1
    1   1     1   B       0   4000   150       0        1
    >>> load_train(wide=True).shape
    (2929, 11)
    """
    from choicemodels.data import wide_to_long

    frame = _read("train.csv")
    if not wide:
        frame = wide_to_long(frame.rename(columns={"choiceid": "chid"}), alternatives=("A", "B"),
                             choice="choice", obs="chid", sep="_")
        frame = frame[["id", "chid", "alt", "choice", *_TRAIN_VARS]]
        frame = frame.sort_values(["chid", "alt"], kind="stable").reset_index(drop=True)
    return (frame, TRAIN_DESCR) if return_descr else frame

_HEATING_COOLING_SYSTEMS = ("gcc", "ecc", "erc", "hpc", "gc", "ec", "er")  # the file's order


def load_heating_cooling(
    *, wide: bool = False, return_descr: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, str]:
    """The heating and cooling system data (mlogit's and Ecdat's ``HC``), long by default.

    Long: 1,750 rows (250 situations x 7 systems) with the columns id, alt, icca, occa,
    income, ich, och and depvar (0/1). ``wide=True``: the file itself, one row per house
    with mlogit's columns. See ``HEATING_COOLING_DESCR``; the costs are in dollars (mlogit's
    exercises print them in hundreds).

    Parameters
    ----------
    wide : bool, default False
        Return the file as it is: 250 rows with the columns depvar (the chosen label),
        ich.gcc .. ich.er, icca, och.gcc .. och.er, occa and income.
    return_descr : bool, default False
        Also return the description ``HEATING_COOLING_DESCR``.

    Returns
    -------
    pandas.DataFrame or tuple of (pandas.DataFrame, str)
        A new frame each call; ``(frame, description)`` with ``return_descr=True``.

    Examples
    --------
    >>> df = load_heating_cooling()
    >>> df.shape
    (1750, 8)
    >>> df.head(2)
       id  alt  icca  occa  income  ich  och  depvar
    0   1  gcc  2728   295      20  970  226       0
    1   1  ecc  2728   295      20  786  409       0
    >>> load_heating_cooling(wide=True).shape
    (250, 18)
    """
    from choicemodels.data import wide_to_long

    frame = _read("heating_cooling.csv")
    if not wide:
        frame = wide_to_long(frame.assign(id=range(1, len(frame) + 1)),
                             alternatives=_HEATING_COOLING_SYSTEMS, choice="depvar", obs="id", sep=".")
    return (frame, HEATING_COOLING_DESCR) if return_descr else frame


_LOADERS = {"travel_mode": load_travel_mode, "swissmetro": load_swissmetro, "fishing": load_fishing,
            "electricity": load_electricity, "train": load_train,
            "heating_cooling": load_heating_cooling}


def list_datasets() -> list[str]:
    """Names of the bundled datasets: the named loaders plus any other CSV file in data/.

    Returns
    -------
    list of str
        Sorted names, each loadable with :func:`load_dataset`.

    Examples
    --------
    >>> names = list_datasets()
    >>> "travel_mode" in names, "swissmetro" in names
    (True, True)
    """
    names = set(_LOADERS)
    for entry in _root().iterdir():
        if entry.name.endswith(".csv"):
            names.add(entry.name[: -len(".csv")])
    return sorted(names)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset by its :func:`list_datasets` name (CSV files as they are).

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets`; ``"travel_mode"``, ``"swissmetro"``,
        ``"fishing"``, ``"electricity"`` and ``"train"`` use their loaders.

    Returns
    -------
    pandas.DataFrame
        A new frame.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the datasets and the closest name).

    Examples
    --------
    >>> load_dataset("travel_mode").shape
    (840, 9)
    >>> load_dataset("travel-mode")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: unknown dataset 'travel-mode'; the datasets are [...]. Did you mean 'travel_mode'?
    """
    if name in _LOADERS:
        return _LOADERS[name]()
    if name not in list_datasets():
        import difflib

        close = difflib.get_close_matches(name, list_datasets(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}; the datasets are {list_datasets()}.{hint}")
    return _read(f"{name}.csv")
