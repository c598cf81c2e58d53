"""Where simulated traffic goes: POSTed to a running service, or scored in this process with the
served model's own files and written straight into a prediction log, in the lines the service
writes (predictlog.py), so the monitor reads both alike.

Either way the records are first checked against the request schema, as the service checks them:
a shift that makes values the schema refuses (an age of 43,000, nulls in a required field) is
named in one line before anything is sent or written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tabship.data import FieldSpec
from tabship.serving.simulate.covariate import records

if TYPE_CHECKING:
    from tabship.serving.runtime.artifact import Artifact

LOG_SOURCE = "simulate"  # log files written here are data.simulate-*.log


@dataclass
class Delivered:
    """What scored the records and what it answered."""

    where: str  # the service's URL, or "local"
    model_version: str
    prediction_ids: list[str]
    requests: int
    predicted_positive: int
    log_file: str | None = None


def checked_records(frame: pd.DataFrame, fields: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    """FRAME's request FIELDS as records validated by the request schema (integral floats become
    integers, as in the service); ValueError naming the first record and field it refuses."""
    from pydantic import ValidationError

    from tabship.serving.web.schema import records_adapter

    try:
        return records_adapter(fields).validate_python(records(frame, [f.name for f in fields]))
    except ValidationError as error:
        problems = error.errors(include_url=False)
        first, where = problems[0], problems[0]["loc"]
        name = where[1] if len(where) > 1 else "?"
        raise ValueError(
            f"record {where[0]}: {name}={first['input']!r}: {first['msg']}: the service would "
            f"refuse it ({len(problems)} such value(s)); a shift made values the request schema "
            "does not allow"
        ) from None


def batches(rows: Sequence[dict[str, Any]], size: int) -> list[Sequence[dict[str, Any]]]:
    """ROWS in requests of SIZE records."""
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def send(url: str, requests: Sequence[Sequence[dict[str, Any]]], token: str | None) -> Delivered:
    """POST each request's records to URL/predict."""
    import httpx

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    done = Delivered(url, "", [], 0, 0)
    with httpx.Client(base_url=url, timeout=120) as client:
        for part in requests:
            body = json.dumps({"records": list(part)}).encode()
            answer = client.post("/predict", content=body, headers=headers)
            answer.raise_for_status()
            document = answer.json()
            done.requests += 1
            done.model_version = str(document["model_version"])
            done.prediction_ids += [p["prediction_id"] for p in document["predictions"]]
            done.predicted_positive += sum(int(p["label"]) for p in document["predictions"])
    return done


def score_into_log(
    artifact: Artifact, model_name: str, requests: Sequence[Sequence[dict[str, Any]]],
    log_path: Path,
) -> Delivered:  # fmt: skip
    """Score each request's records as the service would, and write their log lines as it would
    under LOG_PATH/MODEL_NAME (one new file for the run)."""
    from tabship.serving.runtime.predictlog import field_kinds, log_lines, write_log
    from tabship.serving.runtime.scorer import Scorer

    scorer = Scorer(artifact)
    kinds = field_kinds(artifact.fields)
    done = Delivered("local", scorer.version, [], 0, 0)
    lines: list[str] = []
    for part in requests:
        scored = scorer.score_records(part)
        lines += log_lines(part, scored, scorer.version, kinds)
        done.requests += 1
        done.prediction_ids += scored.prediction_ids
        done.predicted_positive += int(scored.label.sum())
    done.log_file = str(write_log(log_path, model_name, lines, LOG_SOURCE))
    return done
