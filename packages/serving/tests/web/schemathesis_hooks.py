"""schemathesis hooks: what JSON Schema cannot say about the request bodies.

Loaded with SCHEMATHESIS_HOOKS. /predict_columns needs its lists equally long, which no JSON
Schema keyword can express: a generated valid body is cut to its shortest list, in every phase
(`map_case` runs in the coverage phase as well as in fuzzing). Invalid bodies stay as generated.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation.modes import GenerationMode


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    if case.operation.path != "/predict_columns" or not isinstance(case.body, dict):
        return case
    meta = case.meta
    if meta is not None and meta.generation.mode != GenerationMode.POSITIVE:
        return case
    columns = case.body.get("columns")
    if not isinstance(columns, dict) or not columns:
        return case
    if not all(isinstance(v, list) and v for v in columns.values()):
        return case
    shortest = min(len(v) for v in columns.values())
    case.body = {**case.body, "columns": {k: v[:shortest] for k, v in columns.items()}}
    return case
