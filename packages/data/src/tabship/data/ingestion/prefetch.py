"""Run an iterator on a thread of its own, one item ahead of its consumer.

Reading and splitting the next block of a file needs nothing from the block being checked, and
most of that work runs in polars or in file reads, outside the GIL: on a thread it overlaps the
checks of the current block. At most `depth` items wait, so memory stays bounded by the block size.
An exception on the thread is raised in the consumer at the point the item would have come.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_S = 0.2  # how often a blocked put looks whether the consumer has gone


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _End:
    pass


class _Worker(Generic[T]):
    def __init__(self, items: Iterator[T], depth: int) -> None:
        self.items = items
        self.queue: queue.Queue[T | _Failed | _End] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tabship-data-reader", daemon=True)

    def _put(self, item: T | _Failed | _End) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self.items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Failed(exc))
        else:
            self._put(_End())
        finally:
            close = getattr(self.items, "close", None)
            if close is not None:
                close()  # a generator's `finally` (open files) runs now, on this thread


def prefetched(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """ITEMS, in order, produced on a background thread up to DEPTH items ahead."""
    worker = _Worker(items, depth)
    worker.thread.start()
    try:
        while True:
            item = worker.queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        worker.stop.set()  # the consumer stopped early, or failed: let the thread finish
        worker.thread.join()
