"""Racing promotions on the real stack: of several runs that compared with the same champion and
promote at the same instant, exactly one moves it, in every round. Each racer is a "machine" of
its own (its own project folder, so its own file lock): only the lease in the object store
stands between them. The same race without the lease is measured and printed for contrast."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tabship.data import ObjectStore, project_at
from tabship.models.registry.lease import LeaseError, lease_key
from tabship.models.registry.registry import CHAMPION, PREVIOUS, Registry, VersionInfo

MODEL = "race-model"
RACERS = 4
ROUNDS = 12


def _machines(tmp_path: Path, tag: str) -> list[Registry]:
    return [Registry(project_at(tmp_path / f"{tag}{i}"), MODEL, "race") for i in range(RACERS)]


def _race(registries: list[Registry], versions: list[str]) -> tuple[int, VersionInfo]:
    """One round: every racer tries to replace the current champion with a version of its own.
    Returns how many succeeded, and the champion they all compared with."""
    expected = registries[0].alias(CHAMPION)
    assert expected is not None
    others = [v for v in versions if v != expected.version]
    barrier = threading.Barrier(len(registries))
    won: list[bool] = [False] * len(registries)

    def run(i: int) -> None:
        barrier.wait()
        won[i] = registries[i].promote_if_champion(VersionInfo(MODEL, others[i], ""), expected)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(registries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(won), expected


def test_of_racing_promotions_exactly_one_moves_the_champion(
    team_stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in team_stack.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TABSHIP_PROJECT", raising=False)
    registries = _machines(tmp_path, "with-lease")
    client = registries[0].client
    client.create_registered_model(MODEL)
    run = client.create_run(registries[0].experiment_id).info.run_id
    versions = [
        str(client.create_model_version(MODEL, f"runs:/{run}/model", run_id=run).version)
        for _ in range(RACERS + 1)
    ]
    registries[0].promote(VersionInfo(MODEL, versions[0], ""))

    winners = []
    for _ in range(ROUNDS):
        count, expected = _race(registries, versions)
        winners.append(count)
        champion, previous = registries[0].alias(CHAMPION), registries[0].alias(PREVIOUS)
        assert champion is not None and previous is not None
        assert previous.version == expected.version  # the one it replaced, not a racer's
    print(f"with the lease: winners per round {winners} over {ROUNDS} rounds of {RACERS}")
    assert winners == [1] * ROUNDS
    # Released every time: nothing of it is left in the store.
    store = ObjectStore(team_stack["TABSHIP_DATA_STORE"])
    assert store.get(lease_key(MODEL)) is None

    # The same race with each machine's file lock only: the contrast, measured, not asserted.
    monkeypatch.delenv("TABSHIP_DATA_STORE")
    unlocked = [_race(_machines(tmp_path, "file-lock"), versions)[0] for _ in range(ROUNDS)]
    print(f"file locks only: winners per round {unlocked} "
          f"({sum(n > 1 for n in unlocked)} of {ROUNDS} rounds had more than one)")  # fmt: skip


def test_a_lease_held_elsewhere_makes_the_promotion_wait_then_give_up(
    team_stack: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in team_stack.items():
        monkeypatch.setenv(key, value)
    store = ObjectStore(team_stack["TABSHIP_DATA_STORE"])
    from tabship.models.registry import lease

    other = lease.Lease(store, "held-model")
    other.acquire()
    try:
        mine = lease.Lease(store, "held-model")
        with pytest.raises(LeaseError, match=r"held by .+ for over 1 s"):
            mine.acquire(wait=1.0)
    finally:
        other.release()
    mine.acquire(wait=1.0)  # free again once released
    mine.release()
