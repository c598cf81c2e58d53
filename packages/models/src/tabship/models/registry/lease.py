"""A lease on a model's aliases, held in the team's object store, so that two machines never
interleave a read-then-write of `champion` (MLflow has no compare-and-set on an alias).

The lease is one object, `_leases/<model>.json`, under the data store (TABSHIP_DATA_STORE=s3://...).
It is taken with a conditional write, `If-None-Match: *`: the store creates it for exactly one of
two writers and answers 412 to the other, in one step on its side. A lease whose holder died is
taken over after its expiry with `If-Match: <its ETag>`, which again only one taker can win, and
released with a conditional delete that cannot remove a successor's lease. Times are the store's
own (its Date header), so machines' clocks never need to agree.

What it guarantees: while a holder keeps to its time (TTL), nobody else holds the lease; every
alias move checks that time before it writes. What it cannot: a holder frozen past its TTL between
that check and the write (a suspended VM) could still write late, since MLflow takes no fencing
token. Promotions take under a second against a TTL of two minutes.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tabship.data import ObjectStore, PreconditionFailedError, StoreError

TTL = 120.0  # seconds a lease lasts; an alias move takes well under one
WAIT = 60.0  # how long to wait for another holder before giving up
MARGIN = 10.0  # stop writing this long before the lease ends
_CHECKED: set[str] = set()  # stores shown to honour conditional writes, in this process


class LeaseError(RuntimeError):
    """The lease could not be taken, was lost, or the store cannot make it safe."""


def lease_key(model_name: str) -> str:
    return f"_leases/{model_name}.json"


class Lease:
    """One holder's lease on MODEL_NAME's aliases in STORE."""

    def __init__(self, store: ObjectStore, model_name: str) -> None:
        self.store = store
        self.key = lease_key(model_name)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.taken_at = 0.0

    def _body(self, now: float) -> bytes:
        return json.dumps({"holder": self.holder, "expires": now + TTL}).encode()

    def acquire(self, wait: float = WAIT) -> None:
        """Take the lease, waiting up to WAIT seconds for a live holder to let go."""
        deadline = time.monotonic() + wait
        while True:
            now = self.store.server_time(self.key)
            try:
                self.etag = self.store.put(self.key, self._body(now), only_if_absent=True)
            except PreconditionFailedError:
                if self._take_over_expired(now):
                    break
                if time.monotonic() > deadline:
                    raise LeaseError(f"{self.store.where(self.key)}: held by "
                                     f"{self._current_holder()} for over {wait:.0f} s") from None  # fmt: skip
                time.sleep(0.2)
                continue
            break
        self.taken_at = time.monotonic()
        self._check_conditional_writes()

    def _take_over_expired(self, now: float) -> bool:
        found = self.store.get(self.key)
        if found is None:
            return False  # released in between: try again
        try:
            expires = float(json.loads(found.body)["expires"])
        except (ValueError, KeyError, TypeError):
            expires = 0.0  # unreadable: treat as expired, its ETag still guards the take-over
        if now <= expires:
            return False
        try:
            self.etag = self.store.put(self.key, self._body(now), only_if=found.etag)
        except PreconditionFailedError:
            return False  # another taker won
        return True

    def _current_holder(self) -> str:
        found = self.store.get(self.key)
        if found is None:
            return "nobody now"
        try:
            return str(json.loads(found.body)["holder"])
        except (ValueError, KeyError, TypeError):
            return "an unreadable lease"

    def _check_conditional_writes(self) -> None:
        """A store that ignores If-None-Match (rclone's S3 server does) would let every writer
        in: write over our own lease conditionally once per store, and expect a refusal."""
        if self.store.url in _CHECKED:
            return
        try:
            self.store.put(self.key, self._body(0.0), only_if_absent=True)
        except PreconditionFailedError:
            _CHECKED.add(self.store.url)
            return
        self.store.delete(self.key)
        raise LeaseError(
            f"{self.store.where()}: the store ignores conditional writes (If-None-Match), so it "
            "cannot keep two machines from promoting at once; use AWS S3, SeaweedFS or another "
            "store that supports them"
        )

    def check(self) -> None:
        """Before each write under the lease: refuse when its time is nearly up."""
        if time.monotonic() - self.taken_at > TTL - MARGIN:
            raise LeaseError(f"{self.store.where(self.key)}: the lease ran out before the write")

    def release(self) -> None:
        """Delete the lease, only if it is still ours (a successor's is left alone)."""
        if self.etag is None:
            return
        try:
            self.store.delete(self.key, only_if=self.etag)
        except PreconditionFailedError:
            pass  # taken over after it expired: the successor's stays
        except StoreError:
            self._release_unconditionally()
        self.etag = None

    def _release_unconditionally(self) -> None:
        """For a store without conditional deletes: delete after reading back that the lease is
        still ours (a successor could slip in between only if ours had expired meanwhile)."""
        try:
            found = self.store.get(self.key)
            if found is not None and found.etag == self.etag:
                self.store.delete(self.key)
        except StoreError:
            pass  # the store is gone: the lease expires on its own


@contextmanager
def held(store: ObjectStore, model_name: str) -> Iterator[Lease]:
    """Hold the lease for the body of a `with`."""
    lease = Lease(store, model_name)
    lease.acquire()
    try:
        yield lease
    finally:
        lease.release()
