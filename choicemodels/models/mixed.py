r"""Mixed (random-coefficients) logit by maximum simulated likelihood, on panel data.

Shapes: N situations, J alternatives, K coefficients (the means), K_r random coefficients,
P persons, R draws per person.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy.special import ndtri

from choicemodels.data import WeightType
from choicemodels.distributed import is_dask_frame, situation_keys
from choicemodels.exceptions import ChoiceDataError, SpecificationError
from choicemodels.kernels.draws import (
    MixedSequence,
    keyed_uniform_draws,
    standard_draws,
    uniform_draws,
)
from choicemodels.kernels.mixed import (
    MixedArrays,
    mixed_person_hessian,
    mixed_person_sums,
    person_layout,
)
from choicemodels.memory import check_memory
from choicemodels.models import engine
from choicemodels.models.base import ChoiceModel, draw_seed
from choicemodels.rendering import Table
from choicemodels.results import ChoiceResults, WtpDistribution, register_model_kind

__all__ = ["MixedLogit"]

Distribution = Literal["normal", "lognormal", "triangular", "uniform", "fixed"]
FitMethod = Literal["bfgs", "bhhh", "newton"]

#: Points of the scrambled Halton sequence skipped before the draws (Train 2009, 9.3.3).
HALTON_DISCARD = 100
#: Draws (numbers) generated at once: persons are drawn in chunks of about this size.
DRAW_CHUNK = 1 << 22
#: Starting value of the standard deviations (spreads) and of the Cholesky diagonal.
START_SD = 0.1
_STANDARD = {"normal": "normal", "lognormal": "normal", "triangular": "triangular",
             "uniform": "uniform"}
#: The standard deviation of the standard draw of each distribution (sd of the coefficient
#: per unit of ``sd.x``; lognormal: of the log).
_SD_FACTOR = {"normal": 1.0, "lognormal": 1.0, "uniform": 1.0 / np.sqrt(3.0),
              "triangular": 1.0 / np.sqrt(6.0)}


class MixedLogit(ChoiceModel):
    r"""Mixed (random-coefficients) logit, by maximum simulated likelihood.

    The utility of alternative j in situation t of person n is :math:`x_{tj}'\beta_n`
    plus an iid Gumbel error; the coefficients named in ``random`` vary over persons:

    * ``"normal"``: :math:`\beta = b + s z`, :math:`z \sim N(0, 1)`;
    * ``"lognormal"``: :math:`\beta = \exp(b + s z)`; ``{"-x": "lognormal"}`` gives the
      negative lognormal :math:`-\exp(b + s z)` (mlogit's convention: ``x`` and ``sd.x``
      are b and s of the log);
    * ``"uniform"``: :math:`\beta = b + s\,u`, u uniform on [-1, 1]; ``"triangular"``:
      u symmetric triangular on [-1, 1]; ``sd.x`` is the half-width s (mlogit, xlogit),
      the coefficient's standard deviation is :math:`|s|/\sqrt3` and :math:`|s|/\sqrt6`;
    * ``"fixed"``: not random (the same as leaving the variable out of ``random``).

    With ``correlated=True`` (or a list of random variables) the normal parts
    :math:`c = b + L z` of those coefficients (normal or lognormal) are correlated through
    the lower-triangular Cholesky factor L, whose entries are ``chol.a:b`` (row a, column
    b, in the order of ``random``); the others keep ``sd.x``. With ``panel=``, one set of
    R draws per person is used in all the person's situations, so the likelihood of a
    person is the average over the draws of the product of the person's logit
    probabilities (Revelt and Train 1998):

    .. math::
        \ell = \sum_n w_n \log \frac1R \sum_{r=1}^R \prod_{t \in n}
        \frac{e^{x_{tc_t}'\beta_{nr}}}{\sum_{j \in A_t} e^{x_{tj}'\beta_{nr}}} .

    The draws (``draws`` = R per person, ``sequence``) are generated once from the seed
    ``rng`` and kept fixed during the fit; they are keyed by the person's id (the
    situation's id without a panel), so a person gets the same draws in any row order,
    on any subset of the data and in predictions on new data. The simulated
    log-likelihood, its analytic gradient and its analytic Hessian are computed in log
    space by :mod:`choicemodels.kernels.mixed`. The fit starts from the logit's
    coefficients (lognormal: the log of their absolute value) and standard deviations 0.1;
    ``method="newton"`` (default) takes BHHH steps while the BHHH decrement, about the
    log-likelihood still to gain, exceeds 1 (at most 10), then Newton steps with the
    analytic Hessian
    (as Stata's ``technique(bhhh nr)``); ``"bfgs"`` (BFGS from the BHHH metric) and
    ``"bhhh"`` use the gradient only. Standard errors: ``"nonrobust"`` inverts the
    analytic Hessian (:meth:`hessian`); with a panel the default is ``"cluster"`` by person (the sandwich over the persons' scores), without
    one ``"nonrobust"``. The sign of a standard deviation is not identified: a fit that
    ends at a negative ``sd.x`` is continued from its mirror image :math:`|sd.x|` (the
    same simulated likelihood up to simulation error) and that fit is kept if it converges
    with every ``sd.x`` >= 0; :meth:`~choicemodels.ChoiceResults.random_distribution`,
    :meth:`~choicemodels.ChoiceResults.random_covariance` and the summary depend on the
    signs not at all. The Cholesky entries ``chol.a:b`` are reported as estimated.

    Parameters
    ----------
    formula : str
        Three-part formula, as for :class:`~choicemodels.Logit`.
    data : pandas.DataFrame
        Long format, one row per (situation, alternative); never modified. A Dask
        DataFrame fits on the active Dask client; with ``panel`` its rows are shuffled on
        the person column where persons span partitions, and the covariance defaults to
        ``"nonrobust"`` (``"robust"``: the sandwich over persons).
    obs : str
        Column of the situation id.
    alt : str
        Column of the alternative label.
    ref : object, optional
        Reference alternative of the constants and part-2 coefficients.
    panel : str, optional
        Column of the person id (constant within a situation): the person's situations
        share one set of draws.
    random : dict of str to str
        Coefficient name -> distribution (``"normal"``, ``"lognormal"``, ``"triangular"``,
        ``"uniform"`` or ``"fixed"``); ``"-name"`` with ``"lognormal"`` for a negative one.
    correlated : bool or list of str, default False
        Correlate all the random coefficients (True) or those listed (normal or lognormal).
    draws : int, default 500
        R, draws per person.
    sequence : {"halton", "sobol", "mlhs", "pseudo"}, default "halton"
        Scrambled Halton (the first 100 points discarded), scrambled Sobol, modified Latin
        hypercube sampling or pseudo-random draws (:mod:`choicemodels.kernels.draws`).
    rng : int, numpy.random.Generator or None, default 0
        Seed of the draws (recorded as an int seed in the results).
    avail : str, optional
        0/1 availability column.
    weights : str, optional
        Per-situation weight column (constant within a person with ``panel``).
    weight_type : {"frequency", "sampling"}, default "frequency"
        How ``weights`` are read, as for :class:`~choicemodels.Logit`.
    functions : dict of str to callable, optional
        Extra functions the formula's terms may call, as for :class:`~choicemodels.Logit`.

    Examples
    --------
    >>> import numpy as np
    >>> import choicemodels as cm
    >>> df = cm.datasets.load_travel_mode()
    >>> m = cm.MixedLogit("choice ~ gc + ttme | hinc", data=df, obs="individual", alt="mode",
    ...                   ref="car", random={"ttme": "normal"}, draws=100)
    >>> m.param_names[-1]
    'sd.ttme'
    >>> r = m.fit()
    >>> r.converged, round(r.llf, 2)
    (True, -174.28)
    """

    model_name = "MixedLogit"
    methods = get_args(FitMethod)
    default_method = "newton"
    default_maxiter = 500
    newton_warmup = 1.0

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        obs: str,
        alt: str,
        ref: Any = None,
        panel: str | None = None,
        random: Mapping[str, Distribution],
        correlated: bool | list[str] = False,
        draws: int = 500,
        sequence: MixedSequence = "halton",
        rng: int | np.random.Generator | None = 0,
        avail: str | None = None,
        weights: str | None = None,
        weight_type: WeightType = "frequency",
        functions: Mapping[str, Callable] | None = None,
    ) -> None:
        if panel is not None and not isinstance(panel, str):
            raise SpecificationError(f"panel must be a column name (str) or None; got {panel!r}.")
        self._panel_ids = None
        self._set_options(random=random, correlated=correlated, panel=panel, draws=draws,
                          sequence=sequence, rng=rng)
        super().__init__(formula, data, obs=obs, alt=alt, ref=ref, avail=avail, weights=weights,
                         weight_type=weight_type, functions=functions)

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        chosen: np.ndarray,
        *,
        panel: np.ndarray | None = None,
        random: Mapping[str, Distribution],
        correlated: bool | list[str] = False,
        draws: int = 500,
        sequence: MixedSequence = "halton",
        rng: int | np.random.Generator | None = 0,
        avail: np.ndarray | None = None,
        names: list[str] | None = None,
        weights: np.ndarray | None = None,
        weight_type: WeightType = "frequency",
    ) -> MixedLogit:
        r"""Mixed logit from arrays: X (N, J, K), chosen (N,) in 0..J-1, panel (N,) person ids.

        Alternatives are labelled 0..J-1; the K columns of X are used as given; the
        options are those of the class.

        Parameters
        ----------
        X : array_like, shape (N, J, K)
            Attributes; :math:`V_{tj} = x_{tj}'\beta_n`.
        chosen : array_like of int, shape (N,)
            Index of the chosen alternative.
        panel : array_like, shape (N,), optional
            Person id of each situation.
        random : dict of str to str
            Column name (see ``names``) -> distribution, as in the class.
        correlated : bool or list of str, default False
            As in the class.
        draws : int, default 500
            R, draws per person.
        sequence : {"halton", "sobol", "mlhs", "pseudo"}, default "halton"
            As in the class.
        rng : int, numpy.random.Generator or None, default 0
            Seed of the draws.
        avail : array_like of bool or 0/1, shape (N, J), optional
            Availability; default: every alternative available.
        names : list of str, optional
            Names of the K columns of X; default ``x0 .. x{K-1}``.
        weights : array_like, shape (N,), optional
            Per-situation weights.
        weight_type : {"frequency", "sampling"}, default "frequency"
            How ``weights`` are read.

        Returns
        -------
        MixedLogit
            An unfitted model.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(0).standard_normal((400, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=0)
        >>> m = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(400) // 4,
        ...                               random={"x0": "normal"}, draws=50)
        >>> m.param_names
        ['x0', 'x1', 'sd.x0']
        """
        model = cls.__new__(cls)
        model._set_options(random=random, correlated=correlated, panel=None, draws=draws,
                           sequence=sequence, rng=rng)
        if panel is None:
            model._panel_ids = None
        else:
            panel = np.asarray(panel)
            if panel.ndim != 1 or panel.shape[0] != np.shape(chosen)[0]:
                raise ChoiceDataError(
                    f"panel must hold one person id per situation: expected shape "
                    f"({np.shape(chosen)[0]},), got {panel.shape}."
                )
            model._panel_ids = panel
        model._init_arrays(X, chosen, avail, names, weights, weight_type)
        return model

    # ---- options ----------------------------------------------------------------------
    def _set_options(self, *, random, correlated, panel, draws, sequence, rng) -> None:
        if not isinstance(random, Mapping) or not random:
            raise SpecificationError(
                "random must be a non-empty dict of coefficient name -> distribution, e.g. "
                f"{{'price': 'normal'}}; got {random!r}."
            )
        allowed = get_args(Distribution)
        spec: dict[str, str] = {}
        for key, dist in random.items():
            if not isinstance(key, str) or not key.lstrip("-"):
                raise SpecificationError(f"random coefficient names must be strings; got {key!r}.")
            if dist not in allowed:
                raise SpecificationError(
                    f"unknown distribution {dist!r} for {key!r}; use one of "
                    f"{', '.join(map(repr, allowed))}."
                )
            if key.startswith("-") and dist != "lognormal":
                raise SpecificationError(
                    f"{key!r}: a leading '-' marks a negative lognormal coefficient; got "
                    f"{dist!r}. Write {key.lstrip('-')!r} for a {dist} coefficient."
                )
            if key.lstrip("-") in {k.lstrip("-") for k in spec}:
                raise SpecificationError(f"{key.lstrip('-')!r} appears twice in random.")
            spec[key] = dist
        self.random = spec
        # random variables (name, distribution, sign) in the order given, "fixed" left out
        self._random = [(k.lstrip("-"), d, -1.0 if k.startswith("-") else 1.0)
                        for k, d in spec.items() if d != "fixed"]
        names = [name for name, _, _ in self._random]
        if isinstance(correlated, (bool, np.bool_)):
            corr = names if correlated else []
            self.correlated: bool | list[str] = bool(correlated)
        elif isinstance(correlated, (list, tuple)) and all(isinstance(c, str) for c in correlated):
            corr = [c.lstrip("-") for c in correlated]
            self.correlated = list(correlated)
        else:
            raise SpecificationError(
                f"correlated must be True, False or a list of random coefficient names; got "
                f"{correlated!r}."
            )
        not_random = [c for c in corr if c not in names]
        if not_random:
            raise SpecificationError(
                f"correlated names {not_random}, which are not random; the random coefficients "
                f"are {names}. Add them to random= or remove them from correlated=."
            )
        kinds = dict((n, d) for n, d, _ in self._random)
        bad = [c for c in corr if kinds[c] not in ("normal", "lognormal")]
        if bad:
            raise SpecificationError(
                f"only normal and lognormal coefficients can be correlated; {bad} are "
                f"{[kinds[c] for c in bad]}."
            )
        self._correlated = [n for n in names if n in corr] if len(corr) > 1 else []
        if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
            raise SpecificationError(f"draws must be an int >= 1 (draws per person); got {draws!r}.")
        self.draws = int(draws)
        if sequence not in get_args(MixedSequence):
            raise SpecificationError(
                f"sequence must be one of {', '.join(map(repr, get_args(MixedSequence)))}; "
                f"got {sequence!r}."
            )
        self.sequence: MixedSequence = sequence
        self.panel = panel
        self.seed = draw_seed(rng)

    def _options(self) -> dict:
        return {"random": dict(self.random), "correlated": self.correlated, "panel": self.panel,
                "draws": self.draws, "sequence": self.sequence, "rng": self.seed}

    def _init(self, design, data, spec) -> None:
        unknown = [n for n, _, _ in self._random if n not in design.names]
        if unknown:
            raise SpecificationError(
                f"random coefficient(s) {unknown} are not in the formula; its coefficients are "
                f"{list(design.names)}."
            )
        if self.panel is not None and data is not None and not is_dask_frame(data):
            self._panel_ids = _panel_of_situations(data, spec["obs"], self.panel, design.obs_ids)
        elif not hasattr(self, "_panel_ids"):
            self._panel_ids = None
        if self._panel_ids is not None and design.weights is not None:
            w = pd.Series(design.weights).groupby(self._panel_ids).nunique()
            if (w > 1).any():
                raise ChoiceDataError(
                    f"weights must be constant within a person (panel); {int((w > 1).sum())} "
                    f"persons have several (first: {w.index[w > 1][:3].tolist()})."
                )
        super()._init(design, data, spec)
        if self._parts is None:
            check_memory(8.0 * self.draws * self.n_persons * max(len(self._random), 1),
                         f"the draws ({self.n_persons} persons x {self.draws} x "
                         f"{len(self._random)} random coefficients)", "draws")

    def _distributed_design(self, formula: str, data: Any, **columns: Any):
        """A Dask DataFrame's design, no person split across partitions (with ``panel``)."""
        return super()._distributed_design(formula, data, panel=self.panel, **columns)

    def _set_partition_panel(self, design, rows: pd.DataFrame) -> None:
        """The person of each situation of a partition, from its (situation, person) pairs."""
        obs, panel = rows.columns
        self._panel_ids = _panel_of_situations(rows, obs, panel, design.obs_ids)

    def _extra_info(self) -> tuple[tuple[str, str], ...]:
        random = ", ".join(f"{k}: {d}" for k, d in self.random.items())
        corr = ", ".join(self._correlated) if self._correlated else "none"
        return (
            ("Random", random),
            ("Correlated", corr),
            ("Persons", str(self.n_persons) if self._panel_ids is not None
             else "no panel" if self.panel is None else f"{self.panel!r} (on the Dask workers)"),
            ("Draws", f"{self.draws} ({self.sequence})"),
            ("Seed", str(self.seed)),
        )

    # ---- persons and draws ------------------------------------------------------------
    @cached_property
    def _persons(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ids (P,), person index of each situation (N,), order (N,), starts (P + 1,),
        first situation of each person (P,))."""
        d = self.design
        ids = np.asarray(d.obs_ids) if self._panel_ids is None else self._panel_ids
        labels, person = np.unique(np.asarray(ids), return_inverse=True)
        order, starts, first = person_layout(person.ravel())
        return labels, person.ravel(), order, starts, first

    @property
    def n_persons(self) -> int:
        """Number of persons P (situations without a panel)."""
        return int(self._persons[0].size)

    @cached_property
    def _draws(self) -> np.ndarray:
        """(P, K_r, R) standard draws, keyed by person id (situation id without a panel);
        the draw innermost, as the kernel reads them."""
        kinds = [_STANDARD[d] for _, d, _ in self._random]
        keys = situation_keys(self._persons[0])
        draws = np.empty((keys.size, len(kinds), self.draws))
        # a person's draws depend on its key only: generated a chunk of persons at a time,
        # so the temporaries stay small beside the draws themselves
        step = max(1, DRAW_CHUNK // max(1, self.draws * len(kinds)))
        for lo in range(0, keys.size, step):
            u = keyed_uniform_draws(keys[lo:lo + step], len(kinds), self.draws,
                                    sequence=self.sequence, discard=HALTON_DISCARD, rng=self.seed)
            draws[lo:lo + step] = standard_draws(u, kinds).transpose(0, 2, 1)
        return draws

    @property
    def _eta(self) -> np.ndarray:
        """(P, R, K_r) view of the standard draws: one (R, K_r) matrix per person."""
        return self._draws.transpose(0, 2, 1)

    @cached_property
    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(random columns (K_r,), fixed columns (K_f,), lognormal sign (K_r,))."""
        names = list(self.design.names)
        rand = np.array([names.index(n) for n, _, _ in self._random], dtype=int)
        fixed = np.array([k for k in range(len(names)) if k not in set(rand.tolist())], dtype=int)
        sign = np.array([s if d == "lognormal" else 0.0 for _, d, s in self._random])
        return rand, fixed, sign

    def _arrays(self, X: np.ndarray, avail: np.ndarray, chosen: np.ndarray) -> MixedArrays:
        _, _, order, starts, _ = self._persons
        rand, fixed, _ = self._columns
        Xo = X[order]
        return MixedArrays(
            Xr=np.ascontiguousarray(Xo[:, :, rand], dtype=np.float64),
            Xf=np.ascontiguousarray(Xo[:, :, fixed], dtype=np.float64),
            chosen=np.ascontiguousarray(chosen[order], dtype=np.int64),
            avail=np.ascontiguousarray(avail[order], dtype=np.bool_),
            starts=starts, eta=self._draws,
        )

    @cached_property
    def _data_arrays(self) -> MixedArrays:
        d = self.design
        return self._arrays(d.X, d.avail, d.chosen)

    # ---- parameters -------------------------------------------------------------------
    @cached_property
    def _cholesky_entries(self) -> list[tuple[int, int, str]]:
        """(row, column, name) of each parameter of L, in the order of the parameters."""
        names = [n for n, _, _ in self._random]
        entries = [(k, k, f"sd.{n}") for k, n in enumerate(names) if n not in self._correlated]
        rows = [names.index(n) for n in self._correlated]
        for a, ka in enumerate(rows):
            for kb in rows[: a + 1]:
                entries.append((ka, kb, f"chol.{names[ka]}:{names[kb]}"))
        return entries

    @cached_property
    def _free(self) -> np.ndarray:
        """(K_r, K_r) bool: the entries of L that are parameters."""
        n = len(self._random)
        free = np.zeros((n, n), dtype=bool)
        for k, l, _ in self._cholesky_entries:
            free[k, l] = True
        return free

    @cached_property
    def _sd_positions(self) -> np.ndarray:
        """Indices of the ``sd.x`` parameters in the parameter vector."""
        K = self.design.n_params
        return np.array([K + i for i, (_, _, name) in enumerate(self._cholesky_entries)
                         if name.startswith("sd.")], dtype=int)

    @property
    def param_names(self) -> list[str]:
        """The K means (named after their variables), then ``sd.x`` of each uncorrelated
        random coefficient and ``chol.a:b`` of the correlated block."""
        return list(self.design.names) + [name for _, _, name in self._cholesky_entries]

    def _split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fixed coefficients (K_f,), means b (K_r,), L (K_r, K_r))."""
        params = np.asarray(params, float)
        rand, fixed, _ = self._columns
        K = self.design.n_params
        L = np.zeros((rand.size, rand.size))
        for (k, l, _), value in zip(self._cholesky_entries, params[K:]):
            L[k, l] = value
        return params[fixed], params[rand], L

    def start_params(self) -> np.ndarray:
        """The logit's coefficients as means (lognormal: the log of their size in the
        coefficient's sign, at least 0.01), standard deviations (and the Cholesky diagonal)
        0.1, off-diagonal entries 0.

        Returns
        -------
        ndarray, shape (K + P,)
            The starting parameters.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.MixedLogit("choice ~ gc | 0", data=df, obs="individual", alt="mode",
        ...                   random={"gc": "normal"}, draws=10)
        >>> m.start_params().round(4).tolist()
        [-0.0146, 0.1]
        """
        beta = self._logit_estimate()
        rand, _, sign = self._columns
        for k, s in zip(rand, sign):
            if s != 0.0:
                beta[k] = np.log(max(s * beta[k], 0.01))
        extra = [START_SD if k == l else 0.0 for k, l, _ in self._cholesky_entries]
        return np.concatenate([beta, extra])

    # ---- block functions --------------------------------------------------------------
    def _person_sums(self, params: np.ndarray, arrays: MixedArrays | None = None,
                     conditional: bool = True) -> tuple:
        fixed_b, b, L = self._split(params)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return mixed_person_sums(fixed_b, b, L, self._free, self._columns[2],
                                     self._data_arrays if arrays is None else arrays,
                                     conditional=conditional, threads=self._threads)

    def _person_scores(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P,) simulated log-likelihood and (P, K + P_L) scores of the persons."""
        ll, g_fixed, g_mean, g_chol, _, _ = self._person_sums(params)
        rand, fixed, _ = self._columns
        scores = np.zeros((ll.size, len(self.param_names)))
        scores[:, fixed] = g_fixed
        scores[:, rand] = g_mean
        K = self.design.n_params
        for i, (k, l, _) in enumerate(self._cholesky_entries):
            scores[:, K + i] = g_chol[:, k, l]
        return ll, scores

    def _person_weights(self) -> np.ndarray | None:
        w = self.design.weights
        return None if w is None else w[self._persons[4]]

    def _on_first_rows(self, values: np.ndarray) -> np.ndarray:
        """Per-person values placed on each person's first situation (zeros elsewhere)."""
        out = np.zeros((self.design.n_obs,) + values.shape[1:])
        out[self._persons[4]] = values
        return out

    def _loglike_obs(self, params: np.ndarray) -> np.ndarray:
        """(N,) each person's simulated log-likelihood on the person's first situation,
        0 on the others (so the sum over situations is the log-likelihood)."""
        return self._on_first_rows(self._person_scores(params)[0])

    def _score_obs(self, params: np.ndarray) -> np.ndarray:
        """(N, K + P_L) each person's score on the person's first situation, 0 elsewhere:
        sums over situations, or over clusters of persons, are sums over persons."""
        return self._on_first_rows(self._person_scores(params)[1])

    def _block_sums(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r"""Weighted simulated log-likelihood, gradient and :math:`\sum_n w_n s_n s_n'` over
        the persons; ``-inf`` where it is not finite."""
        ll, scores = self._person_scores(params)
        if not np.all(np.isfinite(ll)) or not np.all(np.isfinite(scores)):
            n = scores.shape[1]
            return -np.inf, np.full(n, np.nan), np.full((n, n), np.nan)
        w = self._person_weights()
        ws = scores if w is None else scores * w[:, None]
        return float(np.sum(ll if w is None else w * ll)), ws.sum(axis=0), ws.T @ scores

    @cached_property
    def _hessian_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """``(qk, ql)`` (Q,) of the Hessian pass: the coefficient each parameter moves (the
        random coefficients first, then the fixed ones) and its column of L (-1: none)."""
        rand, fixed, _ = self._columns
        position = np.empty(self.design.n_params, dtype=np.int64)
        position[rand] = np.arange(rand.size)
        position[fixed] = rand.size + np.arange(fixed.size)
        entries = self._cholesky_entries
        qk = np.concatenate([position, [k for k, _, _ in entries]]).astype(np.int64)
        ql = np.concatenate([np.full(position.size, -1), [l for _, l, _ in entries]])
        return qk, ql.astype(np.int64)

    def _block_derivatives(self, params: np.ndarray, hessian: bool = True) -> tuple:
        """Weighted simulated log-likelihood, gradient and analytic Hessian over the
        persons (:func:`~choicemodels.kernels.mixed.mixed_person_hessian`); ``-inf``
        where it is not finite."""
        qk, ql = self._hessian_layout
        fixed_b, b, L = self._split(params)
        w = self._person_weights()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ll, scores, H = mixed_person_hessian(
                np.concatenate([b, fixed_b]), L, self._free, self._columns[2], qk, ql,
                self._data_arrays, w, threads=self._threads)
        if not (np.all(np.isfinite(ll)) and np.all(np.isfinite(scores)) and np.all(np.isfinite(H))):
            n = qk.size
            return -np.inf, np.full(n, np.nan), np.full((n, n), np.nan)
        if w is not None:
            ll, scores = w * ll, scores * w[:, None]
        return float(ll.sum()), scores.sum(axis=0), H

    def _probabilities(self, params, X, avail):
        """(N, J) simulated probabilities: the mean over the person's draws of the logit
        probabilities (not conditioned on the person's choices)."""
        d = self.design
        arrays = self._arrays(X, avail, np.full(d.n_obs, -1))
        pbar = self._person_sums(params, arrays, conditional=False)[5]
        out = np.empty_like(pbar)
        out[self._persons[2]] = pbar
        return out

    def utilities(self, params: np.ndarray) -> np.ndarray:
        r"""Systematic utilities at the mean coefficients (NaN for unavailable alternatives).

        :math:`V_{ij} = x_{ij}'\bar\beta` with each random coefficient at the mean of its
        distribution (for a lognormal one :math:`\pm e^{b + s^2/2}`), not the mean of the
        person-level utilities' logit probabilities (see :meth:`predict`).

        Parameters
        ----------
        params : array_like, shape (K + P,)
            As in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (N, J)
            The utilities.

        Examples
        --------
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.MixedLogit("choice ~ gc + ttme | 0", data=df, obs="individual", alt="mode",
        ...                   random={"-ttme": "lognormal"}, draws=20)
        >>> m.utilities([0.0, 0.0, 0.0])[0].round(2).tolist()  # ttme = -exp(0): V = -ttme
        [-69.0, -35.0, 0.0, -34.0]
        """
        self._require_in_memory("utilities")
        params = np.asarray(params, float)
        fixed_b, b, L = self._split(params)
        rand, fixed, sign = self._columns
        beta = np.empty(self.design.n_params)
        beta[fixed] = fixed_b
        s2 = np.einsum("kl,kl->k", L, L)
        beta[rand] = np.where(sign != 0, sign * np.exp(b + s2 / 2), b)
        return np.where(self.design.avail, self.design.X @ beta, np.nan)

    def hessian(self, params: np.ndarray) -> np.ndarray:
        r"""Analytic Hessian of :meth:`loglike` (at the fixed draws).

        Per person, with the draws' posterior weights :math:`\omega_{pr}`, scores
        :math:`s_r` and Hessians :math:`h_r` of :math:`\log L_{pr}`:
        :math:`\nabla^2 \ell_p = \sum_r \omega_{pr} (h_r + s_r s_r') - \nabla \ell_p
        \nabla \ell_p'` (see :mod:`choicemodels.kernels.mixed_hessian_pass`); one pass over
        the data, about 2.5 times the cost of the gradient.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            As in :attr:`param_names`.

        Returns
        -------
        ndarray, shape (K + P, K + P)
            The symmetric matrix of second derivatives.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> df = cm.datasets.load_travel_mode()
        >>> m = cm.MixedLogit("choice ~ gc + ttme | 0", data=df, obs="individual", alt="mode",
        ...                   random={"ttme": "normal"}, draws=20)
        >>> m.hessian(m.start_params()).shape
        (3, 3)
        """
        return self._derivatives(np.asarray(params, float))[2]

    # ---- estimation -------------------------------------------------------------------
    def fit(
        self,
        *,
        start: np.ndarray | None = None,
        maxiter: int | None = None,
        tol: float | None = None,
        method: str | None = None,
        cov_type: str | None = None,
        groups: np.ndarray | None = None,
        progress: bool | None = None,
    ) -> ChoiceResults:
        r"""Maximum simulated likelihood fit; returns a new results object.

        As :meth:`Logit.fit <choicemodels.Logit.fit>`, with ``method="newton"`` (default:
        BHHH steps, then Newton's with the analytic Hessian; see the class), ``"bfgs"``
        (BFGS from the BHHH metric with the analytic gradient) or ``"bhhh"``. A fit ending
        at a negative ``sd.x`` continues from :math:`|sd.x|` (see the class). With a panel,
        ``cov_type`` defaults to ``"cluster"`` with the persons as clusters (``groups``
        defaults to the persons for ``"cluster"``); ``"robust"`` is then the sandwich over
        the persons without the G/(G-1) factor, as each person's score is one term.

        Parameters
        ----------
        start : array_like, shape (K + P,), optional
            Starting values; default :meth:`start_params`.
        maxiter : int, optional
            Maximum number of iterations (default 500).
        tol : float, optional
            Tolerance on the BHHH decrement (default 1e-8).
        method : {"newton", "bfgs", "bhhh"}, optional
            Optimiser.
        cov_type : {"nonrobust", "robust", "cluster", "opg"}, optional
            Covariance of the estimates (default: ``"cluster"`` by person with a panel,
            else ``"nonrobust"``; ``"robust"`` with sampling weights).
        groups : array_like, shape (N,), optional
            Cluster labels of the situations (default with a panel: the persons).
        progress : bool or None, optional
            Progress bar of a long fit.

        Returns
        -------
        ChoiceResults
            Estimates, standard errors, fit statistics.

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> m = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6,
        ...                               random={"x0": "normal"}, draws=50)
        >>> r = m.fit()
        >>> r.cov_type, r.converged
        ('cluster', True)
        """
        panel = self._panel_ids is not None
        if panel and groups is None and cov_type in (None, "cluster") and self._parts is None:
            cov_type, groups = "cluster", self._persons[1]
        options = {"maxiter": maxiter, "tol": tol, "method": method, "cov_type": cov_type,
                   "groups": groups, "progress": progress, "stacklevel": 3}
        results = engine.fit(self, start=start, **options)
        negative = [i for i in self._sd_positions if results.estimates[i] < 0]
        if not negative:
            return results
        # the sign of sd.x is not identified: continue from the mirror image |sd.x|, where
        # the simulated likelihood is the same up to simulation error, and keep that fit
        # if it converges with every sd.x >= 0
        mirrored = results.estimates.copy()
        mirrored[negative] *= -1.0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = engine.fit(self, start=mirrored, **options)
        if not again.converged or np.any(again.estimates[self._sd_positions] < 0):
            return results
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return dataclasses.replace(again, n_iter=results.n_iter + again.n_iter,
                                   fit_time=results.fit_time + again.fit_time)

    # ---- individual parameters ----------------------------------------------------------
    def individual_params(self, params: np.ndarray) -> pd.DataFrame:
        r"""Each person's conditional mean of the random coefficients (Revelt and Train).

        .. math::
            \hat\beta_n = \frac{\sum_r \beta_{nr} L_{nr}}{\sum_r L_{nr}}

        with :math:`L_{nr}` the probability of the person's observed choices at draw r.

        Parameters
        ----------
        params : array_like, shape (K + P,)
            As in :attr:`param_names`.

        Returns
        -------
        pandas.DataFrame
            One row per person (indexed by the panel's ids), one column per random
            coefficient (the coefficient itself: for a lognormal one :math:`\pm e^c`).

        Examples
        --------
        >>> import numpy as np
        >>> import choicemodels as cm
        >>> X = np.random.default_rng(1).standard_normal((600, 3, 2))
        >>> chosen = cm.simulate_choices(X @ [1.0, -0.5], rng=1)
        >>> m = cm.MixedLogit.from_arrays(X, chosen, panel=np.arange(600) // 6,
        ...                               random={"x0": "normal"}, draws=50)
        >>> m.individual_params(m.start_params()).shape
        (100, 1)
        """
        if self._panel_ids is None:
            raise SpecificationError(
                "individual_params() needs a panel (panel=): without repeated choices of a "
                "person the conditional means are of single situations; refit with panel=."
            )
        self._require_in_memory("individual_params")
        cond = self._person_sums(np.asarray(params, float))[4]
        index = pd.Index(self._persons[0], name=self.panel or "panel")
        return pd.DataFrame(cond, index=index, columns=[n for n, _, _ in self._random])


def _panel_of_situations(data: pd.DataFrame, obs: str, panel: str, obs_ids) -> np.ndarray:
    """(N,) the person id of each situation, checked constant within situations."""
    if panel not in data.columns:
        raise ChoiceDataError(f"panel column {panel!r} is not in the data; the columns are "
                              f"{list(data.columns)}.")
    column = data[panel]
    if column.isna().any():
        rows = data.index[column.isna()][:3].tolist()
        raise ChoiceDataError(f"panel column {panel!r} has missing values (rows {rows}); every "
                              "situation needs its person id.")
    counts = column.groupby(data[obs]).nunique()
    bad = counts.index[counts > 1]
    if len(bad):
        raise ChoiceDataError(
            f"panel column {panel!r} must be constant within a situation ({obs!r}); "
            f"{len(bad)} situations have several values (first: {bad[:3].tolist()}). Fix the "
            "column or the situation ids."
        )
    return column.groupby(data[obs]).first().reindex(obs_ids).to_numpy()


# ---- the random coefficients' distribution (functions of the estimates) ------------------
def _random_layout(spec: dict, param_names: tuple[str, ...], n_beta: int):
    """From a stored specification: random variables (name, distribution, sign), their
    parameter indices of the means (K_r,) and the (row, column, parameter index) of L."""
    options = spec["options"]
    shell = MixedLogit.__new__(MixedLogit)
    shell._set_options(**options)
    names = list(param_names)
    random = shell._random
    means = [names.index(n) for n, _, _ in random]
    rnames = [n for n, _, _ in random]
    entries = []
    for i, p in enumerate(names[n_beta:], start=n_beta):
        if p.startswith("sd."):
            k = rnames.index(p[3:])
            entries.append((k, k, i))
        else:
            a, b = p[5:].split(":")
            entries.append((rnames.index(a), rnames.index(b), i))
    return random, means, entries


def _cholesky(theta: np.ndarray, n: int, entries) -> np.ndarray:
    L = np.zeros((n, n))
    for k, l, i in entries:
        L[k, l] = theta[i]
    return L


def _delta(fun: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, cov: np.ndarray):
    """``fun(theta)`` and its delta-method standard errors (central differences)."""
    value = np.asarray(fun(theta), float)
    steps = 1e-6 * np.maximum(1.0, np.abs(theta))
    cols = []
    for i, h in enumerate(steps):
        e = np.zeros_like(theta)
        e[i] = h
        cols.append((np.asarray(fun(theta + e)) - np.asarray(fun(theta - e))).ravel() / (2 * h))
    D = np.column_stack(cols)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", D, cov, D), 0.0, None))
    return value, se.reshape(value.shape)


def random_covariance(results: ChoiceResults, correlation: bool = False) -> pd.DataFrame:
    r"""Covariance (or correlation) :math:`LL'` of the normal parts :math:`c = b + Lz` of the
    random coefficients, with delta-method standard errors; columns ``("estimate", x)`` and
    ``("std err", x)``."""
    random, _, entries = _random_layout(results.spec, results.param_names, results.n_beta)
    n = len(random)

    def matrix(theta):
        L = _cholesky(theta, n, entries)
        omega = L @ L.T
        if correlation:
            sd = np.sqrt(np.diag(omega))
            with np.errstate(invalid="ignore", divide="ignore"):
                omega = omega / np.outer(sd, sd)
        return omega

    value, se = _delta(matrix, results.estimates, results.covariance)
    names = [v for v, _, _ in random]
    return pd.concat({"estimate": pd.DataFrame(value, index=names, columns=names),
                      "std err": pd.DataFrame(se, index=names, columns=names)}, axis=1)


def random_distribution(results: ChoiceResults) -> pd.DataFrame:
    r"""Mean, median and standard deviation of each random coefficient itself, with
    delta-method standard errors (lognormal: :math:`\pm e^{b + s^2/2}`,
    :math:`\pm e^b`, :math:`e^{b + s^2/2}\sqrt{e^{s^2} - 1}`; normal, uniform and
    triangular: b, b and :math:`|s|` times 1, :math:`1/\sqrt3`, :math:`1/\sqrt6`), with
    s the standard deviation of the normal part (:math:`\sqrt{(LL')_{kk}}`, so its sign
    never matters)."""
    random, means, entries = _random_layout(results.spec, results.param_names, results.n_beta)
    n = len(random)

    def stats(theta):
        L = _cholesky(theta, n, entries)
        s = np.sqrt(np.einsum("kl,kl->k", L, L))
        b = theta[means]
        out = np.empty((n, 3))
        for k, (_, dist, sign) in enumerate(random):
            if dist == "lognormal":
                mean = np.exp(b[k] + s[k] ** 2 / 2)
                out[k] = sign * mean, sign * np.exp(b[k]), mean * np.sqrt(np.expm1(s[k] ** 2))
            else:
                out[k] = b[k], b[k], s[k] * _SD_FACTOR[dist]
        return out

    value, se = _delta(stats, results.estimates, results.covariance)
    frame = pd.DataFrame(
        {"distribution": [("-" if s < 0 else "") + d for _, d, s in random],
         "mean": value[:, 0], "mean se": se[:, 0], "median": value[:, 1],
         "median se": se[:, 1], "sd": value[:, 2], "sd se": se[:, 2]},
        index=pd.Index([v for v, _, _ in random], name="coefficient"),
    )
    return frame


def individual_params(results: ChoiceResults, data: pd.DataFrame | None) -> pd.DataFrame:
    """:meth:`MixedLogit.individual_params` at the estimates, on the fit's data or on
    ``data`` (with its choices)."""
    if data is None:
        model = results._model_for(None)
    else:
        model = MixedLogit._from_spec(results.spec, data, results.model, require_choice=True)
    return model.individual_params(results.estimates)


def _summary_tables(result: ChoiceResults, alpha: float) -> tuple[tuple[Table, ...], tuple[str, ...]]:
    """The summary's table of each random coefficient's own distribution."""
    dist = random_distribution(result)
    kinds = {c: "coef" if not c.endswith(" se") else "stat" for c in dist.columns}
    return (Table("Random coefficients: distribution of the coefficient itself", dist, kinds,
                  na_rep="nan"),), ()


# ---- willingness to pay: the distribution of a ratio with a random coefficient -----------
#: Quantiles of a ratio's distribution reported by :func:`wtp_distribution` (symmetric
#: about 1/2, so a decreasing transformation only reverses their order).
WTP_QUANTILES = (0.05, 0.25, 0.75, 0.95)
#: Draws of the random coefficients simulating a ratio with a random denominator.
WTP_DRAWS = 100_000


def wtp_distribution(results: ChoiceResults, numerator: str, denominator: str,
                     alpha: float = 0.05):
    r"""The distribution of ``numerator / denominator`` when either is a random
    coefficient, as a :class:`~choicemodels.results.WtpDistribution`; ``None`` when both
    are fixed (a plain ratio). Over a fixed denominator :math:`b_d` the ratio is the
    numerator's distribution divided by :math:`b_d` (its quantiles
    :math:`Q_\beta(q)/b_d`, read from :math:`1 - q` when :math:`b_d < 0`); over a random
    one it is simulated from :data:`WTP_DRAWS` draws of the model's sequence and seed."""
    random, means, entries = _random_layout(results.spec, results.param_names, results.n_beta)
    rnames = [v for v, _, _ in random]
    if numerator not in rnames and denominator not in rnames:
        return None
    names = list(results.param_names)
    n = len(random)
    q = np.array(WTP_QUANTILES)
    options = results.spec["options"]
    labels = ["mean", "median", "sd"] + [f"q{p:g}" for p in q]

    def coefficient(theta, name, z):
        """The coefficient ``name`` at the standard draws z (..., K_r)."""
        if name not in rnames:
            return np.full(z.shape[:-1], theta[names.index(name)])
        k = rnames.index(name)
        _, dist, sign = random[k]
        c = theta[means[k]] + z @ _cholesky(theta, n, entries)[k]
        return sign * np.exp(c) if dist == "lognormal" else c

    if denominator not in rnames:
        k = rnames.index(numerator)
        _, dist, sign = random[k]
        kind = _STANDARD[dist]
        zq = standard_draws(np.r_[q, 0.5][:, None], [kind])[:, 0]  # standard quantiles

        def stats(theta):
            L = _cholesky(theta, n, entries)
            s = np.sqrt(L[k] @ L[k])
            b, d = theta[means[k]], theta[names.index(denominator)]
            if dist == "lognormal":
                mean = sign * np.exp(b + s**2 / 2)
                sd = abs(mean) * np.sqrt(np.expm1(s**2))
                x = sign * np.exp(b + s * zq)
            else:
                mean, sd, x = b, s * _SD_FACTOR[dist], b + s * zq
            return np.r_[mean / d, x[-1] / d, sd / abs(d), np.sort(x[:-1] / d)]

        negative = sign * results.estimates[names.index(denominator)] < 0
        family = "-lognormal" if dist == "lognormal" and negative else dist
        draws, exists = 0, True
        notes = (f"{numerator} ({dist}) over the fixed {denominator}: the numerator's "
                 "distribution rescaled, in closed form; delta-method standard errors.",)
    else:
        kinds = [_STANDARD[d] for _, d, _ in random]
        u = uniform_draws(1, n, WTP_DRAWS, sequence=options["sequence"],
                          discard=HALTON_DISCARD, rng=options["rng"])[0]
        z = standard_draws(u, kinds)
        k = rnames.index(denominator)
        _, dist, _ = random[k]
        L = _cholesky(results.estimates, n, entries)
        # uniform and triangular: the support b +- |s| must exclude zero
        exists = dist == "lognormal" or (
            dist != "normal" and abs(results.estimates[means[k]]) > np.sqrt(L[k] @ L[k]))

        def stats(theta):
            ratio = coefficient(theta, numerator, z) / coefficient(theta, denominator, z)
            mean, sd = (ratio.mean(), ratio.std()) if exists else (np.nan, np.nan)
            return np.r_[mean, np.median(ratio), sd, np.quantile(ratio, q)]

        family, draws = "simulated", WTP_DRAWS
        notes = (f"Simulated from {WTP_DRAWS} {options['sequence']} draws of the random "
                 f"coefficients at the estimates (seed {options['rng']}); delta-method "
                 "standard errors at fixed draws.",)
        if not exists:
            notes += (f"The mean and sd of the ratio do not exist: the {dist} denominator "
                      f"{denominator} has positive density at zero; report the median and "
                      "quantiles.",)

    value, se = _delta(stats, results.estimates, results.covariance)
    zc = float(ndtri(1 - alpha / 2))
    table = pd.DataFrame(
        {"estimate": value, "std err": se, f"[{alpha / 2:g}": value - zc * se,
         f"{1 - alpha / 2:g}]": value + zc * se},
        index=pd.Index(labels, name="statistic"),
    )
    return WtpDistribution(numerator, denominator, family, table, draws, bool(exists), notes)


register_model_kind(
    "MixedLogit", MixedLogit._from_spec,
    mixing={"random_covariance": random_covariance, "random_distribution": random_distribution,
            "individual_params": individual_params, "wtp": wtp_distribution},
    summary_extras=_summary_tables,
)
