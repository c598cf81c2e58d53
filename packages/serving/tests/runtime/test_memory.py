"""The worker's heap: frozen after start-up, thawed on a model swap and frozen again later."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from tabship.serving.runtime.memory import freeze_heap, refreeze_heap, release_memory


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Leave the test process's collector as it found it."""
    yield
    gc.unfreeze()


def test_freeze_moves_the_live_heap_out_of_the_collector() -> None:
    gc.unfreeze()
    freeze_heap()
    assert gc.get_freeze_count() > 1000
    tracked = len(gc.get_objects())
    assert tracked < gc.get_freeze_count()  # the collector now walks only what came later


def test_refreeze_thaws_at_once_and_freezes_again_later() -> None:
    freeze_heap()
    refreeze_heap(after_seconds=0.2)
    assert gc.get_freeze_count() == 0  # the old model's cycles can be collected meanwhile
    deadline = time.monotonic() + 10
    while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gc.get_freeze_count() > 1000


def test_a_cycle_made_after_the_freeze_is_still_collected() -> None:
    freeze_heap()

    class Node:
        def __init__(self) -> None:
            self.me = self

    Node()
    assert gc.collect() >= 1
    release_memory()  # and the large-request path still runs with a frozen heap
