"""numba compilation with the on-disk cache where there is a folder to keep it in.

numba keeps compiled functions in ``NUMBA_CACHE_DIR``, else in ``__pycache__`` next to the
source, else in the user's cache folder, whichever it can write first. Where it can write
none of them (a read-only installation run by a user without a writable home, for
instance), ``numba.njit(cache=True)`` raises ``RuntimeError`` when it decorates the
function; :func:`njit` then compiles without the disk cache, in every process. Imported on
first use, so that importing the package does not import numba.
"""

from __future__ import annotations

from collections.abc import Callable

import numba

__all__ = ["njit"]


def njit(*, cache: bool = True, **options) -> Callable[[Callable], Callable]:
    """``numba.njit(cache=True, **options)``, or ``numba.njit(**options)`` where numba finds
    no writable cache folder or ``cache`` is False (numba cannot cache a function that
    takes compiled functions as arguments).

    Examples
    --------
    >>> @njit(nogil=True)
    ... def twice(x):
    ...     return 2.0 * x
    >>> twice(1.5)
    3.0
    """

    def decorate(function: Callable) -> Callable:
        if not cache:
            return numba.njit(**options)(function)
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError as error:  # "cannot cache function ...: no locator available ..."
            if "no locator available" not in str(error):
                raise
            return numba.njit(**options)(function)

    return decorate
