"""`tabship-serving predict`: a CSV scored over HTTP or in-process, with the same result shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tabship.data import FieldSpec
from tabship.serving.client.csvinput import read_records

# The service refuses more records than this per /predict call, so the client sends chunks.
CHUNK = 10_000


@dataclass
class PredictResult:
    """Scores of a file, or the service's error body."""

    where: str
    model_version: str = ""
    predictions: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        """The --json output."""
        return {
            "where": self.where,
            "model_version": self.model_version,
            "ignored_columns": self.ignored,
            "predictions": self.predictions,
        }


def _as_dicts(
    result: PredictResult, ids: list[str], scores: list[float], labels: list[int]
) -> None:
    version = result.model_version
    result.predictions = [
        {"prediction_id": i, "probability": p, "label": lab, "model_version": version}
        for i, p, lab in zip(ids, scores, labels, strict=True)
    ]


def predict_local(path: Path, tag: str, na_values: Sequence[str] = ()) -> PredictResult:
    """Validate with the request schema and score in this process, from the model store."""
    from pydantic import ValidationError

    from tabship.features import UnseenCategoryError
    from tabship.serving.errors import from_pydantic
    from tabship.serving.runtime.artifact import load_artifact
    from tabship.serving.runtime.modelstore import stored_folder
    from tabship.serving.runtime.scorer import Scorer
    from tabship.serving.web.schema import records_adapter

    artifact = load_artifact(stored_folder(tag))
    rows = read_records(path, artifact.fields, na_values)
    result = PredictResult(where="local", ignored=rows.ignored)
    adapter = records_adapter(artifact.fields)
    try:
        records = adapter.validate_python(rows.records)
    except ValidationError as error:
        result.error = from_pydantic(error.errors(include_url=False)).to_dict()
        return result
    scorer = Scorer(artifact)
    try:
        scored = scorer.score_records(records)
    except UnseenCategoryError as error:
        result.error = {"error": "invalid_input", "message": str(error), "details": []}
        return result
    result.model_version = scorer.version
    _as_dicts(result, scored.prediction_ids, scored.probability.tolist(), scored.label.tolist())
    return result


def remote_fields(document: dict[str, Any]) -> list[FieldSpec]:
    """The request fields, read from the service's OpenAPI document (its `Record` schema)."""
    record = document["components"]["schemas"]["Record"]
    out = []
    for name, prop in record["properties"].items():
        options = prop.get("anyOf", [prop])
        kinds = [o.get("type") for o in options if o.get("type") not in (None, "null")]
        kind = kinds[0] if kinds and kinds[0] in ("integer", "number", "boolean") else "string"
        out.append(FieldSpec(name=name, kind=cast("Any", kind), nullable=len(options) > 1))
    return out


def predict_remote(
    path: Path, url: str, token: str | None = None, na_values: Sequence[str] = ()
) -> PredictResult:
    """POST the file's records to URL/predict in chunks of 10,000."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
        rows = read_records(path, remote_fields(client.get("/docs.json").json()), na_values)
        result = PredictResult(where=url, ignored=rows.ignored)
        for start in range(0, len(rows.records), CHUNK):
            chunk = rows.records[start : start + CHUNK]
            response = client.post("/predict", json={"records": chunk})
            body = response.json()
            if response.status_code != 200:
                for detail in body.get("details", []):
                    if detail.get("record") is not None:
                        detail["record"] += start  # the row of the file, not of the chunk
                result.error = {"status": response.status_code, **body}
                return result
            result.model_version = body["model_version"]
            result.predictions.extend(body["predictions"])
    return result
