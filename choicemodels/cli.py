"""Command line: ``choicemodels compare | fit | simulate | gumbel-max`` (also ``python -m choicemodels``).

A thin argparse layer over the public API. Exit status: 0 success; 2 bad input
(``error: ...`` on stderr, no traceback); 3 a model did not converge (after its output, one
line per model on stderr); 130 interrupted (Ctrl-C). Output cut short by the reader
(``choicemodels simulate | head -1``) ends quietly with status 0: the reader chose to stop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterable, Sequence

import pandas as pd

from choicemodels.cli_io import (
    Roles,
    load_bundled,
    parse_names,
    parse_nests,
    parse_random,
    read_table,
    situation_labels,
)
from choicemodels.exceptions import ChoiceDataError, ConvergenceWarning, SpecificationError
from choicemodels.formula import check_formula
from choicemodels.inference import COV_TYPES

__all__ = ["main", "build_parser"]

DEFAULT_DATASET = "travel_mode"
MODEL_NAMES = ("logit", "nested", "mixed", "probit")  # compare --models (choicemodels.compare.MODEL_NAMES)
FORMATS = ("text", "json", "csv", "latex", "markdown")
PROBIT_COVS = ("iid", "heteroskedastic", "unstructured")
PLOT_EXTRA = 'pip install "choicemodels[plot]"'


class _Deprecated(argparse.Action):
    """An old spelling kept for one release: hidden from ``--help``, stores into the new
    option's destination (``const`` for a flag) and prints a one-line note on stderr."""

    def __init__(self, option_strings, dest, *, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated and will be removed; use {self.new}",
              file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _alpha(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1 (0.05: 95% intervals), got {text}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("choicemodels")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _add_data_options(p: argparse.ArgumentParser) -> None:
    from choicemodels.datasets import list_datasets

    g = p.add_argument_group(f"data (default: the bundled {DEFAULT_DATASET} dataset)")
    source = g.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="FILE",
                        help="long-format data, one row per (situation, alternative): CSV, or "
                             "Parquet by extension (.parquet, .pq)")
    source.add_argument("--dataset", metavar="NAME",
                        help=f"a bundled dataset: {', '.join(list_datasets())}")
    g.add_argument("--sep", help="CSV separator (default: detected from the file)")
    g.add_argument("--formula", help="three-part formula (default: the dataset's, if it has one)")
    g.add_argument("--obs", help="column of the choice-situation id")
    g.add_argument("--alt", help="column of the alternative label")
    g.add_argument("--ref", help="reference alternative (default: first label in sorted order)")
    g.add_argument("--avail", help="optional 0/1 availability column")
    g.add_argument("--weights", help="optional per-situation weight column")
    g.add_argument("--weight-type", choices=["frequency", "sampling"], default="frequency",
                   help="frequency weights count identical situations (whole numbers); sampling "
                        "weights are inverse selection probabilities (robust SEs); default frequency")


def _add_probit_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("probit options")
    g.add_argument("--integration",
                   choices=["auto", "ghk", "quadrature", "genz", "me", "ovus", "ovbs"],
                   help="probability integration")
    g.add_argument("--draws", type=int,
                   help="simulation draws: per situation (probit GHK), per person (mixed logit)")
    g.add_argument("--sequence", choices=["halton", "sobol", "mlhs", "pseudo"],
                   help="draw sequence (mlhs: mixed logit only)")
    g.add_argument("--rng", type=int, default=0, help="seed of the draws (default 0)")
    g.add_argument("--method", choices=["bfgs", "bhhh"], help="probit optimiser")


def _add_nest_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("nested logit options")
    g.add_argument("--nests", metavar="SPEC",
                   help='nests of the nested logit: "name=alt,alt;name=alt", e.g. '
                        '"fly=air;ground=train,bus,car"; every alternative in one nest')
    g.add_argument("--equal-iv", action="store_true", help="one iv for every nest")


def _add_mixed_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mixed logit options (--draws, --sequence and --rng above apply too)")
    g.add_argument("--random", metavar="SPEC",
                   help='random coefficients of the mixed logit: "coef=distribution,...", e.g. '
                        '"gc=normal,-ttme=lognormal" (normal, lognormal, triangular, uniform; '
                        "-name: a negative lognormal)")
    g.add_argument("--correlated", action="store_true",
                   help="correlate the normal and lognormal random coefficients")
    g.add_argument("--panel", metavar="COL",
                   help="column of the person id: one set of draws per person (panel likelihood)")


def _add_estimation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("estimation and output")
    g.add_argument("--cov-type", default=None, choices=list(COV_TYPES),
                   help="covariance of the estimates (default nonrobust, robust with sampling "
                        "weights); cluster needs --groups")
    g.add_argument("--groups", metavar="COL",
                   help="column of the cluster labels for --cov-type cluster, constant within a situation")
    g.add_argument("--maxiter", type=_positive_int, help="most optimiser iterations")
    g.add_argument("--alpha", type=_alpha, default=0.05,
                   help="1 - confidence level of the intervals shown (default 0.05: 95%%)")
    g.add_argument("--format", default="text", choices=FORMATS, help="output format (default text)")
    g.add_argument("--json", dest="format", action=_Deprecated, nargs=0, const="json", new="--format json")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``choicemodels`` program."""
    parser = argparse.ArgumentParser(
        prog="choicemodels",
        description="Multinomial logit and probit side by side: simulate, fit, compare.",
    )
    parser.add_argument("--version", action="version", version=f"choicemodels {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compare", help="fit logit, nested logit and probit on the same data and compare them",
                       description="Fit a logit and probits (iid and unstructured by default), and a "
                                   "nested logit with --nests, and print coefficients on a common "
                                   "scale, fit, LR and Vuong tests, shares, elasticities and, with "
                                   "nests, the cross-elasticities within and across nests.")
    _add_data_options(p)
    p.add_argument("--models", metavar="LIST",
                   help=f"comma-separated models to fit, from {','.join(MODEL_NAMES)} (default "
                        "logit,probit, with nested after --nests and mixed after --random); "
                        "probit means one per --probit-cov")
    _add_nest_options(p)
    _add_mixed_options(p)
    p.add_argument("--probit-cov", nargs="+", default=["iid", "unstructured"], choices=PROBIT_COVS,
                   help="probit error structures (default iid unstructured)")
    _add_probit_options(p)
    _add_estimation_options(p)
    p.add_argument("--ratio-to", help="coefficient the scale-free ratios divide by")
    p.add_argument("--variable", help="variable of the elasticity matrices (default: the ratio coefficient)")
    p.add_argument("--plot", metavar="OUT.png",
                   help=f"save coefficient and elasticity plots (needs matplotlib: {PLOT_EXTRA})")
    p.set_defaults(run=_run_compare)

    p = sub.add_parser("fit", help="fit one model and print its summary",
                       description="Fit a logit or probit and print the summary table.")
    _add_data_options(p)
    p.add_argument("--model", choices=["logit", "nested", "mixed", "probit"], default="logit",
                   help="nested needs --nests, mixed --random (default logit)")
    _add_nest_options(p)
    _add_mixed_options(p)
    p.add_argument("--probit-cov", default="iid", choices=PROBIT_COVS,
                   help="probit error structure (default iid)")
    p.add_argument("--cov", dest="probit_cov", choices=PROBIT_COVS, action=_Deprecated, new="--probit-cov")
    _add_probit_options(p)
    _add_estimation_options(p)
    p.add_argument("--save", metavar="RESULTS.json", help="save the results (cm.load_results reads them)")
    p.set_defaults(run=_run_fit)

    p = sub.add_parser("simulate", help="write a simulated long-format dataset as CSV",
                       description="Simulate choices from a random-utility model (cm.simulate_dataset).")
    p.add_argument("--n-obs", type=int, default=1000, help="choice situations N (default 1000)")
    p.add_argument("--n-alts", type=int, default=3, help="alternatives J (default 3)")
    p.add_argument("--beta", type=float, nargs="+", default=[1.0, -0.5],
                   help="generic coefficients of attributes x1..xK (default 1 -0.5)")
    p.add_argument("--asc", type=float, nargs="+", help="J-1 constants of alt1..")
    p.add_argument("--errors", choices=["gumbel", "normal", "nested"], default="gumbel",
                   help="nested: exact nested-logit (GEV) errors, with --nests and --iv")
    p.add_argument("--nests", metavar="SPEC",
                   help='nests of nested errors by label: "a=alt0;b=alt1,alt2"')
    p.add_argument("--iv", type=float, nargs="+", metavar="L",
                   help="nested errors: one iv in (0, 1] per nest, in the order of --nests")
    p.add_argument("--error-cov", type=float, nargs="+", metavar="C",
                   help="J*J error covariance, row by row (normal errors)")
    p.add_argument("--cov", dest="error_cov", type=float, nargs="+", action=_Deprecated, new="--error-cov")
    p.add_argument("--temperature", type=float, default=1.0, help="error scale T")
    p.add_argument("--rng", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", default="-", metavar="FILE.csv", help="output file (default: stdout)")
    p.set_defaults(run=_run_simulate)

    p = sub.add_parser("gumbel-max", help="check argmax(V + Gumbel) against softmax(V) by simulation",
                       description="Simulate argmax(V/T + Gumbel) and compare the frequencies with "
                                   "softmax(V/T) by a chi-square test (cm.gumbel_max_check).")
    p.add_argument("--utilities", "-V", type=float, nargs="+", default=[1.0, 0.0, -1.0],
                   help="utilities of the alternatives (default 1 0 -1)")
    p.add_argument("--draws", type=int, default=1_000_000, help="simulated choices (default 1e6)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--errors", choices=["gumbel", "normal", "nested"], default="gumbel",
                   help="'normal' draws normal errors, which the test should reject; 'nested' "
                        "draws exact nested-logit (GEV) errors, checked against the nested logit")
    p.add_argument("--nests", metavar="SPEC",
                   help='nested errors: nests of alternative indices 0..J-1, e.g. "a=0,1;b=2"')
    p.add_argument("--iv", type=float, nargs="+", metavar="L",
                   help="nested errors: one iv in (0, 1] per nest, in the order of --nests")
    p.add_argument("--rng", type=int, default=0)
    p.set_defaults(run=_run_gumbel_max)
    return parser


# ---- data -------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, str, dict]:
    """The data, formula and column roles from the options (the default dataset if none)."""
    if args.data is not None:
        data, defaults, source = read_table(args.data, args.sep), Roles(), "--data"
    else:
        if args.sep is not None:
            raise SpecificationError("--sep applies to a CSV file given with --data.")
        name = args.dataset or DEFAULT_DATASET
        data, defaults = load_bundled(name)
        source = f"--dataset {name}"
    formula = args.formula or defaults.formula
    roles = {"obs": args.obs or defaults.obs, "alt": args.alt or defaults.alt,
             "ref": args.ref or defaults.ref, "avail": args.avail or defaults.avail,
             "weights": args.weights, "weight_type": args.weight_type}
    missing = [f"--{k}" for k, v in (("formula", formula), ("obs", roles["obs"]), ("alt", roles["alt"]))
               if v is None]
    if missing:
        columns = [str(c) for c in data.columns]
        raise SpecificationError(
            f"{source} needs {', '.join(missing)} as well (columns: {', '.join(columns[:30])}"
            f"{' ...' if len(columns) > 30 else ''})."
        )
    check_formula(formula)  # strict: a formula on the command line is data, never code
    if roles["ref"] is not None and roles["alt"] in data.columns:
        roles["ref"] = _match_label(roles["ref"], data[roles["alt"]])
    return data, formula, roles


def _match_label(text: str, column: pd.Series):
    """The alternative label whose text is ``text`` (CSV labels may be numbers)."""
    for label in pd.unique(column):
        if str(label) == text:
            return label
    return text


def _cluster_labels(args: argparse.Namespace, data: pd.DataFrame, obs: str) -> pd.Series | None:
    """Per-situation cluster labels for ``--cov-type cluster`` (None otherwise)."""
    if args.cov_type == "cluster" and args.groups is None:
        raise SpecificationError("--cov-type cluster needs --groups COL, the column of the cluster labels.")
    if args.groups is None:
        return None
    if args.cov_type != "cluster":
        raise SpecificationError(f"--groups is used only with --cov-type cluster (got --cov-type {args.cov_type}).")
    return situation_labels(data, obs, args.groups)


def _nests(args: argparse.Namespace, data: pd.DataFrame, alt: str) -> dict | None:
    """The ``--nests`` option as a dict, its labels matched to the data's (CSV labels may be numbers)."""
    if args.nests is None:
        return None
    nests = parse_nests(args.nests)
    if alt in data.columns:
        nests = {k: [_match_label(a, data[alt]) for a in v] for k, v in nests.items()}
    return nests


def _mixed_options(args: argparse.Namespace, wanted: bool, fix: str) -> dict:
    """``--random``, ``--correlated`` and ``--panel`` as MixedLogit's keywords; an error when the
    mixed logit is ``wanted`` without ``--random``, or given options without being wanted."""
    given = [o for o, v in (("--random", args.random), ("--correlated", args.correlated),
                            ("--panel", args.panel)) if v]
    if not wanted:
        if given:
            raise SpecificationError(f"{', '.join(given)} applies to the mixed logit; {fix} or drop it.")
        return {}
    if args.random is None:
        raise SpecificationError('the mixed logit needs --random, e.g. --random "gc=normal,ttme=lognormal".')
    return {"random": parse_random(args.random), "correlated": args.correlated, "panel": args.panel}


def _probit_options(args: argparse.Namespace) -> dict:
    opts = {"integration": args.integration, "draws": args.draws, "sequence": args.sequence}
    return {k: v for k, v in opts.items() if v is not None}


# ---- output -----------------------------------------------------------------------


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _render(summary, fmt: str) -> str:
    """A summary object in ``fmt`` (its ``as_text``, ``as_csv``, ``as_latex``, ``as_markdown``)."""
    return getattr(summary, f"as_{fmt}")()


def _not_converged(models: Iterable[tuple[str, object]]) -> list[str]:
    return [f"{label} did not converge after {r.n_iter} iterations: {r.message}"
            for label, r in models if not r.converged]


# ---- commands: each returns the lines reporting models that did not converge --------


def _run_compare(args: argparse.Namespace) -> list[str]:
    from choicemodels.compare import compare_models

    data, formula, roles = _load(args)
    labels = _cluster_labels(args, data, roles["obs"])
    extra = {}  # only the options given, so that compare_models' own defaults apply
    if labels is not None:
        extra["groups"] = labels.to_numpy()  # in order of first appearance, as the models' situations
    if args.maxiter is not None:
        extra["maxiter"] = args.maxiter
    nests = _nests(args, data, roles["alt"])
    if args.models is not None:
        models = parse_names(args.models, MODEL_NAMES, "--models")
    else:
        models = (["logit"] + ["nested"] * (nests is not None) + ["mixed"] * (args.random is not None)
                  + ["probit"])
    if "nested" in models and nests is None:
        raise SpecificationError('--models includes nested, which needs --nests, e.g. '
                                 '--nests "fly=air;ground=train,bus,car".')
    if "nested" not in models and (nests is not None or args.equal_iv):
        given = "--nests" if nests is not None else "--equal-iv"
        raise SpecificationError(f"{given} applies to the nested logit; add nested to --models "
                                 f"(e.g. --models {','.join(models + ['nested'])}) or drop {given}.")
    if "nested" in models:
        extra.update(nests=nests, equal_iv=args.equal_iv)
    extra.update(_mixed_options(args, "mixed" in models, "add mixed to --models (e.g. --models "
                                f"{','.join(models + ['mixed'])})"))
    c = compare_models(formula, data, **roles, models=models, probit_cov=args.probit_cov,
                       rng=args.rng, method=args.method, cov_type=args.cov_type,
                       ratio_to=args.ratio_to, variable=args.variable, **extra,
                       **_probit_options(args))
    if args.plot:
        _save_figure(c.plot(alpha=args.alpha), args.plot)
    if args.format == "json":
        _write(json.dumps(c.to_dict(), indent=1))
    elif args.format == "text":
        _write(str(c))
    else:
        _write(_render(c.summary(), args.format))
    return _not_converged(zip(c.labels, c.results))


def _run_fit(args: argparse.Namespace) -> list[str]:
    from choicemodels.models.logit import Logit

    data, formula, roles = _load(args)
    method = None
    nests = _nests(args, data, roles["alt"])
    if args.model != "nested" and (nests is not None or args.equal_iv):
        raise SpecificationError(f"--nests and --equal-iv apply to --model nested, not --model {args.model}.")
    mixed = _mixed_options(args, args.model == "mixed", "use --model mixed")
    if args.model == "logit":
        model = Logit(formula, data, **roles)
    elif args.model == "mixed":
        from choicemodels.models.mixed import MixedLogit

        options = {k: v for k, v in dict(draws=args.draws, sequence=args.sequence).items() if v is not None}
        model = MixedLogit(formula, data, **roles, **mixed, rng=args.rng, **options)
        method = args.method
    elif args.model == "nested":
        from choicemodels.models.nested import NestedLogit

        if nests is None:
            raise SpecificationError('--model nested needs --nests, e.g. --nests "fly=air;ground=train,bus,car".')
        model = NestedLogit(formula, data, **roles, nests=nests, equal_iv=args.equal_iv)
    else:
        from choicemodels.models.probit import Probit

        model = Probit(formula, data, **roles, cov=args.probit_cov, rng=args.rng, **_probit_options(args))
        method = args.method
    labels = _cluster_labels(args, data, roles["obs"])
    groups = None if labels is None else labels.loc[model.design.obs_ids].to_numpy()
    result = model.fit(cov_type=args.cov_type, groups=groups, maxiter=args.maxiter, method=method)
    if args.format == "json":
        _write(json.dumps(result.to_dict(), indent=1))
    else:
        _write(_render(result.summary(alpha=args.alpha), args.format))
    if args.save:  # after the output, so that a failed save does not lose the fit
        result.save(args.save)
    return _not_converged([(result.model_name, result)])


def _run_simulate(args: argparse.Namespace) -> list[str]:
    import numpy as np

    from choicemodels.simulate import simulate_dataset

    cov = None
    if args.error_cov is not None:
        J = args.n_alts
        if len(args.error_cov) != J * J:
            raise SpecificationError(f"--error-cov needs {J * J} numbers (a {J} x {J} matrix row by row), "
                                     f"got {len(args.error_cov)}.")
        cov = np.reshape(args.error_cov, (J, J))
    nests = None if args.nests is None else parse_nests(args.nests)
    if args.errors == "nested" and (nests is None or args.iv is None):
        raise SpecificationError('--errors nested needs --nests (e.g. "a=alt0;b=alt1,alt2") and --iv '
                                 "(one value in (0, 1] per nest, e.g. --iv 1 0.5).")
    if args.errors != "nested" and (nests is not None or args.iv is not None):
        raise SpecificationError("--nests and --iv apply to --errors nested.")
    sim = simulate_dataset(args.n_obs, args.n_alts, args.beta, asc=args.asc, errors=args.errors,
                           cov=cov, temperature=args.temperature, nests=nests, iv=args.iv,
                           rng=args.rng)
    if args.out == "-":
        sim.data.to_csv(sys.stdout, index=False)
        return []
    sim.data.to_csv(args.out, index=False)
    print(f"wrote {len(sim.data)} rows ({args.n_obs} situations) to {args.out}; true coefficients:")
    print(sim.params.to_string())
    print(f"fit with: choicemodels fit --data {args.out} --formula '{sim.formula}' --obs obs --alt alt")
    return []


def _nest_indices(args: argparse.Namespace) -> dict[str, list[int]] | None:
    """``--nests`` of alternative indices ("a=0,1;b=2") for nested errors (None if not given)."""
    if args.errors != "nested":
        raise SpecificationError("--nests and --iv apply to --errors nested.")
    if args.nests is None or args.iv is None:
        raise SpecificationError('--errors nested needs --nests (alternative indices, e.g. "a=0,1;b=2") '
                                 "and --iv (one value in (0, 1] per nest, e.g. --iv 0.5 1).")
    nests = parse_nests(args.nests)
    bad = [a for members in nests.values() for a in members if not a.isdigit()]
    if bad:
        raise SpecificationError(f"--nests: {bad} are not alternative indices; with --utilities the "
                                 'alternatives are 0..J-1, e.g. "a=0,1;b=2".')
    return {k: [int(a) for a in v] for k, v in nests.items()}


def _run_gumbel_max(args: argparse.Namespace) -> list[str]:
    from choicemodels.simulate import gumbel_max_check

    nested = {}
    if args.errors == "nested" or args.nests is not None or args.iv is not None:
        nested = {"nests": _nest_indices(args), "iv": args.iv}
    print(gumbel_max_check(args.utilities, draws=args.draws, temperature=args.temperature,
                           errors=args.errors, rng=args.rng, **nested))
    return []


def _use_agg_backend() -> None:
    try:
        import matplotlib
    except ImportError:
        raise SpecificationError(f"--plot needs matplotlib: {PLOT_EXTRA}") from None
    matplotlib.use("Agg")


def _save_figure(fig, path: str) -> None:
    fig.savefig(path)  # at the figure's own resolution (150 dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one ``warning: ...`` line; non-convergence is reported by the exit status."""
    if not issubclass(category, ConvergenceWarning):
        print(f"warning: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """After the reader closed the pipe: send what is still buffered to the null device."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the exit status (0 success, 2 bad input, 3 not converged,
    130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "plot", None):
            _use_agg_backend()
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            failures = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ChoiceDataError, SpecificationError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    return 3 if failures else 0
