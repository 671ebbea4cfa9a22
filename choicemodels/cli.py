"""Command line: ``choicemodels compare | fit | simulate | gumbel-max`` (also ``python -m choicemodels``).

A thin argparse layer over the public API. Bad input ends with ``error: ...`` on stderr and
exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from choicemodels.exceptions import ChoiceDataError, SpecificationError

__all__ = ["main", "build_parser"]

DEFAULT_FORMULA = "choice ~ gc + ttme | hinc"
DEFAULT_COLUMNS = {"obs": "individual", "alt": "mode", "ref": "car"}


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (default: the bundled TravelMode data)")
    g.add_argument("--data", metavar="FILE.csv", help="long-format CSV, one row per (situation, alternative)")
    g.add_argument("--formula", help=f"three-part formula (TravelMode default: {DEFAULT_FORMULA!r})")
    g.add_argument("--obs", help="column of the choice-situation id")
    g.add_argument("--alt", help="column of the alternative label")
    g.add_argument("--ref", help="reference alternative (default: first label in sorted order)")
    g.add_argument("--avail", help="optional 0/1 availability column")
    g.add_argument("--weights", help="optional per-situation weight column")


def _add_probit_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("probit options")
    g.add_argument("--integration", choices=["auto", "ghk", "quadrature", "genz"], help="probability integration")
    g.add_argument("--draws", type=int, help="simulation draws per situation (GHK)")
    g.add_argument("--sequence", choices=["halton", "sobol", "pseudo"], help="draw sequence")
    g.add_argument("--rng", type=int, default=0, help="seed of the draws (default 0)")
    g.add_argument("--method", choices=["bfgs", "bhhh"], help="probit optimiser")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``choicemodels`` program."""
    parser = argparse.ArgumentParser(
        prog="choicemodels",
        description="Multinomial logit and probit side by side: simulate, fit, compare.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compare", help="fit logit and probit on the same data and compare them",
                       description="Fit a logit and probits (iid and unstructured by default) and print "
                                   "coefficients on a common scale, fit, Vuong tests, shares and elasticities.")
    _add_data_options(p)
    p.add_argument("--probit-cov", nargs="+", default=["iid", "unstructured"],
                   choices=["iid", "heteroskedastic", "unstructured"], help="probit error structures")
    _add_probit_options(p)
    p.add_argument("--ratio-to", help="coefficient the scale-free ratios divide by")
    p.add_argument("--variable", help="variable of the elasticity matrices (default: the ratio coefficient)")
    p.add_argument("--plot", metavar="OUT.png", help="save coefficient and elasticity plots")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    p.set_defaults(run=_run_compare)

    p = sub.add_parser("fit", help="fit one model and print its summary",
                       description="Fit a logit or probit and print the summary table.")
    _add_data_options(p)
    p.add_argument("--model", choices=["logit", "probit"], default="logit")
    p.add_argument("--cov", default="iid", choices=["iid", "heteroskedastic", "unstructured"],
                   help="probit error structure (default iid)")
    _add_probit_options(p)
    p.add_argument("--cov-type", default="nonrobust", choices=["nonrobust", "robust"],
                   help="covariance of the estimates")
    p.add_argument("--save", metavar="RESULTS.json", help="save the results (cm.load_results reads them)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=_run_fit)

    p = sub.add_parser("simulate", help="write a simulated long-format dataset as CSV",
                       description="Simulate choices from a random-utility model (cm.simulate_dataset).")
    p.add_argument("--n-obs", type=int, default=1000, help="choice situations N (default 1000)")
    p.add_argument("--n-alts", type=int, default=3, help="alternatives J (default 3)")
    p.add_argument("--beta", type=float, nargs="+", default=[1.0, -0.5],
                   help="generic coefficients of attributes x1..xK (default 1 -0.5)")
    p.add_argument("--asc", type=float, nargs="+", help="J-1 constants of alt1..")
    p.add_argument("--errors", choices=["gumbel", "normal"], default="gumbel")
    p.add_argument("--cov", type=float, nargs="+", metavar="C",
                   help="J*J error covariance, row by row (normal errors)")
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
    p.add_argument("--errors", choices=["gumbel", "normal"], default="gumbel",
                   help="'normal' draws normal errors, which the test should reject")
    p.add_argument("--rng", type=int, default=0)
    p.set_defaults(run=_run_gumbel_max)
    return parser


# ---- data -------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, str, dict]:
    """The data, formula and column roles from the options (TravelMode by default)."""
    roles = {"ref": args.ref, "avail": args.avail, "weights": args.weights}
    if args.data is None:
        from choicemodels.datasets import load_travel_mode

        roles.update({k: getattr(args, k) or v for k, v in DEFAULT_COLUMNS.items()})
        return load_travel_mode(), args.formula or DEFAULT_FORMULA, roles
    missing = [f"--{k}" for k in ("formula", "obs", "alt") if getattr(args, k) is None]
    if missing:
        raise SpecificationError(f"--data needs {', '.join(missing)} as well.")
    path = Path(args.data)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {args.data}")
    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ChoiceDataError(f"cannot read {args.data} as CSV: {exc}") from None
    roles.update(obs=args.obs, alt=args.alt)
    if roles["ref"] is not None and args.alt in data.columns:
        roles["ref"] = _match_label(roles["ref"], data[args.alt])
    return data, args.formula, roles


def _match_label(text: str, column: pd.Series):
    """The alternative label whose text is ``text`` (CSV labels may be numbers)."""
    for label in pd.unique(column):
        if str(label) == text:
            return label
    return text


def _probit_options(args: argparse.Namespace) -> dict:
    opts = {"integration": args.integration, "draws": args.draws, "sequence": args.sequence}
    return {k: v for k, v in opts.items() if v is not None}


# ---- commands ---------------------------------------------------------------------


def _run_compare(args: argparse.Namespace) -> None:
    from choicemodels.compare import compare_models

    data, formula, roles = _load(args)
    c = compare_models(formula, data, **roles, probit_cov=args.probit_cov, rng=args.rng,
                       method=args.method, ratio_to=args.ratio_to, variable=args.variable,
                       **_probit_options(args))
    if args.plot:
        _save_figure(c.plot(), args.plot)
    print(json.dumps(c.to_dict(), indent=1) if args.json else c)


def _run_fit(args: argparse.Namespace) -> None:
    from choicemodels.models.logit import Logit

    data, formula, roles = _load(args)
    method = None
    if args.model == "logit":
        model = Logit(formula, data, **roles)
    else:
        from choicemodels.models.probit import Probit

        model = Probit(formula, data, **roles, cov=args.cov, rng=args.rng, **_probit_options(args))
        method = args.method
    result = model.fit(cov_type=args.cov_type, method=method)
    if args.save:
        result.save(args.save)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.summary())


def _run_simulate(args: argparse.Namespace) -> None:
    import numpy as np

    from choicemodels.simulate import simulate_dataset

    cov = None
    if args.cov is not None:
        J = args.n_alts
        if len(args.cov) != J * J:
            raise SpecificationError(f"--cov needs {J * J} numbers (a {J} x {J} matrix row by row), got {len(args.cov)}.")
        cov = np.reshape(args.cov, (J, J))
    sim = simulate_dataset(args.n_obs, args.n_alts, args.beta, asc=args.asc, errors=args.errors,
                           cov=cov, temperature=args.temperature, rng=args.rng)
    if args.out == "-":
        sim.data.to_csv(sys.stdout, index=False)
        return
    sim.data.to_csv(args.out, index=False)
    print(f"wrote {len(sim.data)} rows ({args.n_obs} situations) to {args.out}; true coefficients:")
    print(sim.params.to_string())
    print(f"fit with: choicemodels fit --data {args.out} --formula '{sim.formula}' --obs obs --alt alt")


def _run_gumbel_max(args: argparse.Namespace) -> None:
    from choicemodels.simulate import gumbel_max_check

    print(gumbel_max_check(args.utilities, draws=args.draws, temperature=args.temperature,
                           errors=args.errors, rng=args.rng))


def _save_figure(fig, path: str) -> None:
    fig.savefig(path, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the exit status (0 success, 2 bad input)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "plot", None):
        import matplotlib

        matplotlib.use("Agg")
    try:
        args.run(args)
    except (ChoiceDataError, SpecificationError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
