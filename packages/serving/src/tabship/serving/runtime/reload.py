"""Hot swap: the running service follows the registry's champion without a restart.

`Reloader.reload` (POST /admin/reload, or the registry watch in watch.py) stores the registry's
champion, and in shadow mode its challenger, exactly as a build does (`store_alias`: the run's
files, checked against the run's sha256s), loads them (`load_artifact` checks them again) and swaps
the served models in one attribute store. A champion whose request fields differ is refused (409)
and the old one keeps serving: the request types were built from the fields at start.

BentoML sends a request to one worker, so the reloading worker writes what it now serves to a
marker, `served.json`, in a folder shared by this service's workers, and every worker follows the
marker (`Reloader.follow`, called by watch.py's thread twice a second): with `workers > 1` all of
them move within a second, and a worker BentoML restarts serves what the others serve, not the
model the service started with. The folder is made by the first process that imports the service,
BentoML's supervisor, whose environment its workers are started with.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabship.data import FieldSpec, atomic_write_json
from tabship.serving.errors import ErrorBody
from tabship.serving.runtime.served import SchemaChangedError, Served, load_challenger, load_scorer
from tabship.serving.settings import DATASET_ENV, PROJECT_ENV

if TYPE_CHECKING:
    from tabship.data import Project

RUN_DIR_ENV = "TABSHIP_SERVING_RUN_DIR"
MARKER = "served.json"
LOCK = "reload.lock"
log = logging.getLogger("tabship.serving.runtime.reload")


class ReloadError(RuntimeError):
    """A reload that did not happen; BODY is the answer (the old models keep serving)."""

    def __init__(self, body: ErrorBody) -> None:
        super().__init__(body.message)
        self.body = body


@dataclass(frozen=True)
class Source:
    """Where the champion comes from: the registry of one dataset of a project."""

    project: Project
    dataset: str | None


def source_from_env() -> Source | None:
    """The project and dataset `tabship-serving serve` passed; None when the service was started
    without a project (a container holds only the model store)."""
    from tabship.data import find_project

    root = os.environ.get(PROJECT_ENV)
    if not root:
        return None
    return Source(find_project(root), os.environ.get(DATASET_ENV) or None)


def run_folder() -> Path:
    """The folder this service's workers share: made by the first process that imports the
    service (the supervisor), named in the environment, removed when that process exits."""
    known = os.environ.get(RUN_DIR_ENV)
    if known:
        folder = Path(known)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = Path(tempfile.mkdtemp(prefix="tabship-serving-"))
    os.environ[RUN_DIR_ENV] = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    return folder


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One reload at a time across the workers: they share the model store and the marker."""
    with (folder / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _failed(error: Exception) -> ReloadError:
    message = f"{type(error).__name__}: {error}"
    return ReloadError(ErrorBody(503, "reload_failed", f"{message}; the old model serves on"))


class Reloader:
    """The served models of one worker, and the ways they change."""

    def __init__(
        self,
        served: Served,
        fields: list[FieldSpec],
        source: Source | None,
        shadow: bool,
        folder: Path,
        on_swap: Callable[[Served, Served], None],
    ) -> None:
        self.current = served  # read once per request; replaced whole, never changed in place
        self.fields = fields
        self.source = source
        self.shadow = shadow
        self.folder = folder
        self.on_swap = on_swap
        self._lock = threading.Lock()  # the threads of this worker (requests, the watch)
        self._followed: dict[str, Any] | None = None

    def reload(self) -> dict[str, Any]:
        """Serve the registry's champion (and challenger); the answer of POST /admin/reload.
        ReloadError (409 or 503) when it cannot: the old models serve on."""
        if self.source is None:
            raise ReloadError(
                ErrorBody(
                    503,
                    "reload_unavailable",
                    "this service was started without a project, so it has no registry to "
                    "follow: start it with tabship-serving serve --project DIR",
                )
            )
        with self._lock, _exclusive(self.folder):
            old = self.current
            new = self._from_registry(self.source, old)
            self._swap(new)
            self._mark(new)
        changed = (new.tag, new.challenger_tag) != (old.tag, old.challenger_tag)
        return {
            "status": "reloaded" if changed else "unchanged",
            **new.describe(),
            "previous_version": old.champion.version,
            "shadow": self.shadow,
        }

    def _from_registry(self, source: Source, old: Served) -> Served:
        from tabship.models import CHALLENGER
        from tabship.serving.runtime.modelstore import store_alias, store_champion

        try:
            champion = store_champion(source.project, source.dataset)
            challenger = (
                store_alias(source.project, source.dataset, CHALLENGER) if self.shadow else None
            )
        except Exception as error:  # the registry or the store: one line, and keep serving
            log.warning("reload failed: %s: %s", type(error).__name__, error)
            raise _failed(error) from None
        served_name = old.champion.facts.model_name
        if champion.facts.model_name != served_name:
            message = (
                f"the project's dataset registers {champion.facts.model_name}, and this service "
                f"serves {served_name}: start it with the right --dataset"
            )
            raise ReloadError(ErrorBody(409, "model_mismatch", message))
        wanted = challenger.tag if challenger and challenger.tag != champion.tag else None
        try:
            return self._load(champion.tag, wanted, old)
        except SchemaChangedError as error:
            message = f"{error}; version {old.champion.version} serves on"
            raise ReloadError(ErrorBody(409, "schema_changed", message)) from None
        except Exception as error:  # a damaged file (IntegrityError names it), a bad model
            raise _failed(error) from None

    def _load(self, tag: str, challenger_tag: str | None, old: Served) -> Served:
        """TAG and CHALLENGER_TAG loaded, reusing what OLD already holds."""
        champion = old.champion if tag == old.tag else load_scorer(tag, self.fields)
        if challenger_tag == old.challenger_tag:
            return Served(champion, tag, old.challenger, old.challenger_tag)
        challenger = load_challenger(challenger_tag, self.fields)
        return Served(champion, tag, challenger, challenger_tag if challenger else None)

    def _swap(self, new: Served) -> None:
        old, self.current = self.current, new  # the swap: one attribute store
        if new != old:
            described = new.describe()
            log.info("model swapped", extra={"event": "model_swapped", **described})
            self.on_swap(old, new)

    def _mark(self, served: Served) -> None:
        """Tell this service's other workers what to serve."""
        marker = {"champion": served.tag, "challenger": served.challenger_tag}
        atomic_write_json(self.folder / MARKER, marker)
        self._followed = marker

    def follow(self) -> None:
        """Serve what the marker names, when another worker reloaded; a failure is logged once
        per marker and the current models serve on."""
        try:
            marker = json.loads((self.folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # no reload yet (or a marker being replaced: the next tick reads it)
        if marker == self._followed:
            return
        with self._lock:
            self._followed = marker
            old = self.current
            try:
                new = self._load(str(marker["champion"]), marker.get("challenger"), old)
            except Exception as error:
                log.warning("not following %s: %s: %s", marker, type(error).__name__, error)
                return
            self._swap(new)
