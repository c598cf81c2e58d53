"""The models a request is scored with: the champion and, in shadow mode, the challenger.

A request reads the service's `Served` once and uses only that, and a reload replaces it whole
(one attribute store), so a request never mixes two models. A model is taken only when its
request fields are the served ones: the request types are built from them at import, so a model
with other fields needs a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tabship.data import FieldSpec
from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.scorer import Scorer

log = logging.getLogger("tabship.serving.runtime.reload")


@dataclass(frozen=True)
class Served:
    """The champion's scorer and store tag; the challenger's when one is shadowed."""

    champion: Scorer
    tag: str
    challenger: Scorer | None = None
    challenger_tag: str | None = None

    def describe(self) -> dict[str, str | None]:
        """Versions and tags, for the reload answer and the log."""
        return {
            "model_version": self.champion.version,
            "model_tag": self.tag,
            "challenger_version": self.challenger.version if self.challenger else None,
            "challenger_tag": self.challenger_tag,
        }


class SchemaChangedError(ValueError):
    """A model whose request fields are not the served ones: serving it needs a restart."""


def field_changes(served: Sequence[FieldSpec], new: Sequence[FieldSpec]) -> list[str]:
    """What differs between two request schemas, field by field (empty when they are equal; the
    order of the fields does not matter to a JSON object)."""
    before = {f.name: f for f in served}
    after = {f.name: f for f in new}
    changes = [f"added {name}" for name in sorted(after.keys() - before.keys())]
    changes += [f"removed {name}" for name in sorted(before.keys() - after.keys())]
    changes += [
        f"changed {name}"
        for name in sorted(before.keys() & after.keys())
        if before[name] != after[name]
    ]
    return changes


def load_scorer(tag: str, fields: Sequence[FieldSpec]) -> Scorer:
    """Model TAG from the store, its files checked against their sha256s; SchemaChangedError
    when its request fields are not FIELDS."""
    scorer = Scorer(load_artifact(stored_folder(tag)))
    changes = field_changes(fields, scorer.fields)
    if changes:
        raise SchemaChangedError(
            f"{scorer.facts.model_name} version {scorer.version} takes other request fields "
            f"({', '.join(changes)}): the request types are built at start, so serving it needs "
            "a restart"
        )
    return scorer


def load_challenger(tag: str | None, fields: Sequence[FieldSpec]) -> Scorer | None:
    """The challenger to shadow, or None (none given, or its fields differ: logged, not raised,
    since the champion serves on either way)."""
    if tag is None:
        return None
    try:
        return load_scorer(tag, fields)
    except SchemaChangedError as error:
        log.warning("challenger not shadowed: %s", error)
        return None
