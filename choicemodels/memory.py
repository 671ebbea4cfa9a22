"""Memory estimates: refuse a request whose arrays cannot fit, before allocating them.

A request that is too large for the machine (millions of simulated situations, billions of
draws) would otherwise end in a ``MemoryError`` deep inside numpy or, where the system
overcommits memory (Linux), in the out-of-memory killer stopping this process or another
one. :func:`check_memory` compares an estimate of the bytes a request needs with
:func:`available_memory` and raises a :class:`~choicemodels.SpecificationError` naming the
option to lower.

The available memory is read with the standard library only: on Linux ``MemAvailable`` of
``/proc/meminfo`` (memory that can be allocated without swapping), capped by the cgroup
(v2) limit of a container; elsewhere the physical memory from ``os.sysconf``. Where neither
is known (Windows) nothing is checked; there a too-large allocation fails at once with a
``MemoryError``, since Windows does not overcommit.
"""

from __future__ import annotations

import os
from pathlib import Path

from choicemodels.exceptions import SpecificationError

__all__ = ["available_memory", "check_memory", "format_bytes"]

_MEMINFO = Path("/proc/meminfo")
_CGROUP = Path("/sys/fs/cgroup")


def _meminfo_available() -> int | None:
    """``MemAvailable`` of /proc/meminfo in bytes, or None."""
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """The cgroup (v2) limit less current usage, in bytes; None without a limit."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((_CGROUP / "memory.current").read_text()))
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate, as far as the system says.

    Returns
    -------
    int or None
        Linux: ``MemAvailable``, at most the room left under the cgroup's memory limit;
        other POSIX systems: the physical memory (``SC_PHYS_PAGES * SC_PAGE_SIZE``);
        None where unknown.

    Examples
    --------
    >>> n = available_memory()
    >>> n is None or n > 0
    True
    """
    known = [n for n in (_meminfo_available(), _cgroup_room()) if n is not None]
    if known:
        return min(known)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(nbytes: float) -> str:
    """Bytes in binary units with three significant digits.

    Examples
    --------
    >>> format_bytes(1536), format_bytes(8e13)
    ('1.5 KiB', '72.8 TiB')
    """
    value, unit = float(nbytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(value) < 1024 or unit == "EiB":
            break
        value /= 1024
    return f"{value:.3g} {unit}"


def check_memory(nbytes: float, what: str, option: str) -> None:
    """Raise before allocating when ``nbytes`` exceed the memory available.

    Parameters
    ----------
    nbytes : float
        Estimated peak bytes of the request's arrays (a float, so that products of large
        sizes never overflow).
    what : str
        The request and its arrays, with the sizes that set them, for the message
        (``"simulating 10000000000 situations of 3 alternatives"``).
    option : str
        The option (or options) to lower, as the user writes them (``"n_obs"``,
        ``"draws"``).

    Raises
    ------
    SpecificationError
        Naming ``what``, the memory needed, the memory available and ``option``.

    Examples
    --------
    >>> check_memory(1024, "an array of 128 values", "n")  # fits: nothing happens
    >>> check_memory(8e20, "10**20 draws", "draws")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    choicemodels.exceptions.SpecificationError: 10**20 draws would need about 694 EiB of memory, ...
    """
    available = available_memory()
    if available is not None and nbytes > available:
        raise SpecificationError(
            f"{what} would need about {format_bytes(nbytes)} of memory, more than the "
            f"{format_bytes(available)} available; lower {option}."
        )
