"""The feature specification: what configs/features.yaml may say, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

FORMAT_VERSION = 1
DerivedOp = Literal["subtract", "add", "ratio", "log1p"]
DERIVED_ARITY: dict[str, int] = {"subtract": 2, "add": 2, "ratio": 2, "log1p": 1}
UnseenPolicy = Literal["missing", "error"]


class SpecError(ValueError):
    """A feature specification that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Derived:
    """A numeric feature computed from other columns."""

    name: str
    op: DerivedOp
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns the pipeline uses and how it encodes them."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    derived: tuple[Derived, ...] = ()
    missing_indicators: tuple[str, ...] = ()
    unseen_category: UnseenPolicy = "missing"
    min_category_count: int = 1
    format_version: int = FORMAT_VERSION
    source: str = field(default="<memory>", compare=False)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Every raw column the pipeline reads, in a stable order."""
        seen: dict[str, None] = {}
        for name in (*self.numeric, *self.categorical, *self.missing_indicators):
            seen[name] = None
        for derived in self.derived:
            for name in derived.columns:
                seen[name] = None
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; `spec_from_dict` reads it back."""
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        data.pop("source")
        data["derived"] = [
            {"name": d.name, "op": d.op, "columns": list(d.columns)} for d in self.derived
        ]
        return data


def _names(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: '{key}' must be a list of column names")
    return tuple(value)


def _derived(raw_derived: object, numeric: tuple[str, ...], where: str) -> tuple[Derived, ...]:
    derived = []
    if not isinstance(raw_derived, list):
        raise SpecError(f"{where}: 'derived' must be a list")
    for index, item in enumerate(raw_derived):
        at = f"{where}: derived[{index}]"
        if not isinstance(item, dict):
            raise SpecError(f"{at} must be a mapping with name, op and columns")
        op = item.get("op")
        if op not in DERIVED_ARITY:
            raise SpecError(f"{at}.op {op!r} is not one of {', '.join(DERIVED_ARITY)}")
        columns = _names(item, "columns", at)
        if len(columns) != DERIVED_ARITY[op]:
            raise SpecError(f"{at}.columns: {op} takes {DERIVED_ARITY[op]} column(s)")
        missing = [c for c in columns if c not in numeric]
        if missing:
            raise SpecError(f"{at}.columns: {', '.join(missing)} must be numeric columns")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise SpecError(f"{at}.name must be a non-empty string")
        derived.append(Derived(name=name, op=cast(DerivedOp, op), columns=columns))
    return tuple(derived)


def spec_from_dict(raw: Mapping[str, Any], where: str = "<memory>") -> FeatureSpec:
    """Build and check a FeatureSpec; errors name WHERE (a file) and the field at fault."""
    version = raw.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise SpecError(f"{where}: format_version {version!r} is not supported (want 1)")
    known = {
        "format_version",
        "numeric",
        "categorical",
        "derived",
        "missing_indicators",
        "unseen_category",
        "min_category_count",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    numeric = _names(raw, "numeric", where)
    categorical = _names(raw, "categorical", where)
    if not numeric and not categorical:
        raise SpecError(f"{where}: 'numeric' and 'categorical' are both empty")
    both = sorted(set(numeric) & set(categorical))
    if both:
        raise SpecError(f"{where}: column(s) {', '.join(both)} are both numeric and categorical")
    derived = _derived(raw.get("derived", []) or [], numeric, where)
    unseen = raw.get("unseen_category", "missing")
    if unseen not in ("missing", "error"):
        raise SpecError(f"{where}: unseen_category must be 'missing' or 'error', not {unseen!r}")
    min_count = raw.get("min_category_count", 1)
    if not isinstance(min_count, int) or min_count < 1:
        raise SpecError(f"{where}: min_category_count must be an integer >= 1")
    return FeatureSpec(
        numeric=numeric,
        categorical=categorical,
        derived=derived,
        missing_indicators=_names(raw, "missing_indicators", where),
        unseen_category=cast(UnseenPolicy, unseen),
        min_category_count=min_count,
        source=where,
    )


# As tabship.data's config reader (yamlfile.py), which this package cannot import: a spec is
# small and written by people, so a large file or an alias (*name), which only an expansion
# bomb needs, is refused in one line.
MAX_SPEC_BYTES = 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def load_spec(path: Path) -> FeatureSpec:
    """Read a feature specification from a YAML file; every fault is one line naming the file.

    (This package depends on no other tabship package, so it reads YAML itself rather than
    through tabship.data, which would bring polars, pandera and pyarrow along.)
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(
                f"{path}: larger than {MAX_SPEC_BYTES // 1024} KiB, too large for a spec"
            )
        raw = yaml.load(data.decode("utf-8"), Loader=_NoAliasLoader)  # noqa: S506  (SafeLoader)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise SpecError(f"{where}: not valid YAML: {problem[:200]}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return spec_from_dict(raw, str(path))
