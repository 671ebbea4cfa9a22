"""Progress bars for long computations (tqdm; a widget in Jupyter, stderr elsewhere).

A bar appears only once the work has run longer than a few seconds (tqdm's ``delay``), so
quick fits print nothing; ``progress=False`` turns it off. :func:`fit_progress` opens the
bar of one fit and :func:`ticking` wraps the function the optimiser evaluates so that each
evaluation advances the active bar (context-local, so threads and nested fits keep their
own).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["DELAY", "bar", "fit_progress", "ticking"]

DELAY = 3.0
"""Seconds a computation runs before its bar appears."""

T = TypeVar("T")
_ACTIVE: ContextVar[Any] = ContextVar("choicemodels_progress", default=None)


def bar(iterable: Iterable[T] | None = None, *, enabled: bool | None, total: int | None = None,
        desc: str = "", unit: str = "it", delay: float | None = None, leave: bool = True,
        bar_format: str | None = None) -> Any:
    """A ``tqdm.auto`` bar (a notebook widget in Jupyter, text on stderr elsewhere), or
    ``None`` when ``enabled`` is False. ``enabled=None`` means on; the bar appears after
    ``delay`` seconds (default :data:`DELAY`)."""
    if enabled is False:
        return None
    with warnings.catch_warnings():  # Jupyter without ipywidgets: a text bar, not a warning
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave,
                delay=DELAY if delay is None else delay,
                bar_format=bar_format)


class _FitBar:
    """The bar of one fit, created at the first evaluation (fits that never tick, such as
    a logit's few Newton steps, create none)."""

    def __init__(self, desc: str, enabled: bool | None) -> None:
        self.desc, self.enabled, self.bar = desc, enabled, None

    def tick(self, value: float) -> None:
        if self.enabled is False:
            return
        if self.bar is None:
            self.bar = bar(enabled=self.enabled, desc=self.desc, leave=False,
                           bar_format="{desc}: {n_fmt} log-likelihood evaluations [{elapsed}{postfix}]")
        self.bar.set_postfix_str(f"log-likelihood {value:.4f}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def fit_progress(desc: str, *, enabled: bool | None) -> Iterator[None]:
    """Make a bar counting log-likelihood evaluations the active one while a fit runs."""
    progress = _FitBar(desc, enabled)
    token = _ACTIVE.set(progress)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        progress.close()


def ticking(fun: Callable[..., T]) -> Callable[..., T]:
    """``fun`` that advances the active fit's bar after each call (a no-op without one).

    The bar's postfix shows the log-likelihood, the first element of ``fun``'s result.
    """

    def wrapped(*args: Any, **kwargs: Any) -> T:
        out = fun(*args, **kwargs)
        progress = _ACTIVE.get()
        if progress is not None:
            progress.tick(float(out[0] if isinstance(out, tuple) else out))
        return out

    return wrapped
