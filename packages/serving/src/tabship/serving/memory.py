"""Hand freed heap back to the operating system after a large request.

A 100,000-row /predict_columns request parses into some 1.4 million Python objects. Once they are
freed, glibc keeps the pages in its arenas, so the worker's RSS stayed near 1.1 GB after a single
bulk request (`nox -s bench_serve`: 343 MB before it). `malloc_trim(0)` returns them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

# Requests at least this many rows long are followed by a trim; small ones free little.
LARGE_ROWS = 5_000


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return library if library is not None and hasattr(library, "malloc_trim") else None


_LIBC = _libc()


def release_memory() -> None:
    """Collect cycles, then give free heap pages back (a no-op where libc has no malloc_trim)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
