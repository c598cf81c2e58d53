"""The Dask cluster a run uses: a scheduler's address, or a LocalCluster started for the run.

A LocalCluster listens on 127.0.0.1 only, has no dashboard, and is closed when the run ends, even
when it fails. Work stealing is off for the run's client (and for the LocalCluster's scheduler):
the rows each worker holds decide the distributed model, so tasks stay where they are put, and
two fits on the same cluster shape give the same model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
from distributed import Client, LocalCluster

from tabship.models.config import DaskSettings
from tabship.models.dask import partitions as parts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from distributed import Future

_CONNECT_TIMEOUT = "30s"
_NO_STEALING = {"distributed.scheduler.work-stealing": False}


class RankedClient(Client):
    """A Client whose `who_has` answers in the order the futures were given.

    distributed asks the scheduler about a *set* of keys, so its answer comes in an order that
    changes from process to process (string hashing is salted per process). lightgbm.dask takes
    its worker list, and so each worker's LightGBM machine rank and the order of its parts, from
    that answer: in the given order, partition i's worker and rank are the same in every run.
    """

    def who_has(self, futures: Any = None, **kwargs: Any) -> Any:
        found = super().who_has(futures, **kwargs)
        if futures is None:
            return found
        order = [future.key for future in self.futures_of(futures)]
        return type(found)({key: found[key] for key in dict.fromkeys(order) if key in found})


@contextmanager
def dask_client(settings: DaskSettings) -> Iterator[Client]:
    """A client of SETTINGS' scheduler, or of a new LocalCluster, closed on the way out."""
    with dask.config.set(_NO_STEALING):
        if settings.scheduler:
            with RankedClient(settings.scheduler, timeout=_CONNECT_TIMEOUT) as client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=settings.workers,
                threads_per_worker=settings.threads_per_worker,
                memory_limit=settings.memory_limit,
                host="127.0.0.1",
                dashboard_address=None,
                processes=True,
            ) as cluster,
            RankedClient(cluster) as client,
        ):
            client.run(_stdout_to_stderr)
            yield client


def _stdout_to_stderr() -> None:
    """On a LocalCluster worker: LightGBM's network setup prints to stdout, which the workers
    share with the command, whose stdout is for its result (--json)."""
    os.dup2(2, 1)


def worker_order(client: Client) -> list[str]:
    """The workers' addresses in a fixed order (by name): partition i goes to worker i mod n, so
    the same cluster shape puts the same rows on the same worker in every run."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if not workers:
        raise RuntimeError("the Dask scheduler has no workers")
    named = sorted(
        workers.items(), key=lambda item: (len(str(item[1]["name"])), str(item[1]["name"]))
    )
    return [address for address, _ in named]


@dataclass
class Split:
    """One split's partitions on the cluster: each future on its worker, with its row count."""

    workers: list[str]
    frames: list[Future[Any]]
    rows: list[int]

    @property
    def total(self) -> int:
        return sum(self.rows)


class Placement:
    """Submits per-partition work to the worker that holds the partition."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.order = worker_order(client)

    def on(self, worker: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        return self.client.submit(
            func, *args, workers=[worker], allow_other_workers=False, pure=False, **kwargs
        )

    def each(
        self, split: Split, func: Callable[..., Any], *columns: Sequence[Any], **kw: Any
    ) -> list[Future[Any]]:
        return [
            self.on(worker, func, *args, **kw)
            for worker, args in zip(split.workers, zip(*columns, strict=True), strict=True)
        ]

    def read(
        self, files: list[Path], columns: list[str], categories: list[str], name: str
    ) -> Split:
        """SPLIT NAME of every file, persisted on its worker; empty partitions dropped."""
        workers = [self.order[i % len(self.order)] for i in range(len(files))]
        frames = [
            self.on(w, parts.read_split, f, columns, categories, name)
            for w, f in zip(workers, files, strict=True)
        ]
        rows = self.client.gather(
            [self.on(w, parts.length, f) for w, f in zip(workers, frames, strict=True)]
        )
        kept = [i for i, n in enumerate(rows) if n]
        return Split([workers[i] for i in kept], [frames[i] for i in kept], [rows[i] for i in kept])
