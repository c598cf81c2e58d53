"""Keep the collector off the worker's long-lived heap, and hand freed heap back to the
operating system after a large request.

A worker holds some 200,000 objects once BentoML, pandas, LightGBM and the model are loaded, and
every full collection walked them all (87 ms each under load, together with the request timers
BentoML left alive, see requesttimeout.py); with 32 requests in flight each pause reached the p99.
Frozen after start-up they are skipped (`gc.freeze`, as CPython's documentation suggests for
long-lived processes).

A 100,000-row /predict_columns request parses into some 1.4 million Python objects. Once they are
freed, glibc keeps the pages in its arenas, so the worker's RSS stayed near 1.1 GB after a single
bulk request (`nox -s bench_serve`: 343 MB before it). `malloc_trim(0)` returns them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading

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


def freeze_heap() -> None:
    """Collect once, then move every object alive now out of the collector's sight. Call after
    start-up and after a model swap (see `refreeze_heap`)."""
    gc.collect()
    gc.freeze()


def refreeze_heap(after_seconds: float = 30.0) -> None:
    """After a model swap: let the collector see the old model's objects again (frozen ones are
    never collected, even in a cycle), and freeze the heap again once the requests that still
    hold the old model are done (a timer: the swap itself must not wait)."""
    gc.unfreeze()
    timer = threading.Timer(after_seconds, freeze_heap)
    timer.daemon = True
    timer.start()


def release_memory() -> None:
    """Collect cycles, then give free heap pages back (a no-op where libc has no malloc_trim)."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
