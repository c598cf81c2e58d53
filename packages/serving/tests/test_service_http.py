"""Acceptance: `bentoml serve` on a free loopback port, every status code and body, metrics,
the prediction log, and train/serve skew (1,000 holdout rows over HTTP vs the offline path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bentoml
import httpx
import numpy as np
import pandas as pd
import pytest

from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.predictlog import read_log

from .conftest import Project, Server


@pytest.fixture(scope="module")
def holdout(project: Project) -> list[dict[str, Any]]:
    fields = [f.name for f in load_artifact(_folder(project)).fields]
    frame = project.holdout()[fields]
    objects = frame.astype(object).where(frame.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in objects.to_dict(orient="records")
    ]


def _folder(project: Project) -> Path:
    return Path(bentoml.models.get(project.tag).path)


def _post(server: Server, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return httpx.post(f"{server.url}{path}", timeout=60, **kwargs)


def _metric(server: Server, name: str, **labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in head for k, v in labels.items()) or not want:
                total += float(value)
    return total


def _problem(response: httpx.Response, status: int) -> list[tuple[Any, Any, str]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    return [(d["record"], d["field"], d["type"]) for d in body["details"]]


def test_health_and_docs(server: Server) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        assert httpx.get(f"{server.url}{path}").status_code == 200
    docs = httpx.get(f"{server.url}/docs.json").json()
    assert {"/predict", "/predict_one", "/explain", "/predict_columns"} <= set(docs["paths"])
    record = docs["components"]["schemas"]["Record"]
    assert record["additionalProperties"] is False
    assert "income" not in record["properties"]
    assert record["properties"]["sex"]["enum"] == ["Female", "Male"]
    assert record["properties"]["age"]["maximum"] == 120


def test_predict_valid(server: Server, holdout: list[dict[str, Any]]) -> None:
    scored_before = _metric(server, "tabship_records_scored_total")
    with bentoml.SyncHTTPClient(server.url) as client:
        answer = client.predict(records=holdout[:5])
    # /predict_one is a mounted route (onerecord.py), not a BentoML API: plain HTTP.
    one = _post(server, "/predict_one", {"records": [holdout[0]]}).json()
    if not isinstance(answer, dict):  # the client returns the parsed JSON body
        answer = json.loads(answer)
    predictions = answer["predictions"]
    assert len(predictions) == 5
    version = answer["model_version"]
    for p in predictions:
        assert 0 <= p["probability"] <= 1
        assert p["label"] == int(p["probability"] >= 0.5)
        assert p["model_version"] == version
    assert len({p["prediction_id"] for p in predictions}) == 5
    first = one[0]
    assert first["probability"] == pytest.approx(predictions[0]["probability"], abs=1e-12)
    raw = _post(server, "/predict_one", {"records": [holdout[1]]})
    assert raw.status_code == 200 and len(raw.json()) == 1
    explained = _post(server, "/explain", {"records": holdout[:2], "top_k": 3}).json()
    contributions = explained["explanations"][0]["contributions"]
    assert len(contributions) == 3
    assert abs(contributions[0]["contribution"]) >= abs(contributions[-1]["contribution"])
    # The contributions plus the base value add up to the log-odds of the probability.
    row = explained["explanations"][0]
    columns = {k: [r[k] for r in holdout[:3]] for k in holdout[0]}
    bulk = _post(server, "/predict_columns", {"columns": columns}).json()
    assert bulk["probability"][0] == pytest.approx(predictions[0]["probability"], abs=1e-12)
    assert row["probability"] == predictions[0]["probability"]
    assert _metric(server, "tabship_records_scored_total") >= scored_before + 5 + 1 + 1 + 2 + 3


def test_bad_input_is_a_4xx_naming_record_and_field(
    server: Server, holdout: list[dict[str, Any]]
) -> None:
    good = holdout[0]

    def raw_post(text: str | bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.post(f"{server.url}/predict", content=text, headers=headers)

    assert _problem(_post(server, "/predict", {"records": []}), 422) == [
        (None, "records", "too_short")
    ]
    nan = json.dumps({"records": [good, {**good, "age": float("nan")}]})
    assert _problem(raw_post(nan), 422) == [(1, "age", "int_type")]
    inf = json.dumps({"records": [{**good, "capital-gain": float("inf")}]})
    assert _problem(raw_post(inf), 422) == [(0, "capital-gain", "int_type")]
    assert _problem(_post(server, "/predict", {"records": [{**good, "age": "39"}]}), 422) == [
        (0, "age", "int_type")
    ]
    assert _problem(_post(server, "/predict", {"records": [{**good, "race": "Martian"}]}), 422) == [
        (0, "race", "literal_error")
    ]
    without = {k: v for k, v in good.items() if k != "sex"}
    assert _problem(_post(server, "/predict", {"records": [good, good, without]}), 422) == [
        (2, "sex", "missing")
    ]
    assert _problem(_post(server, "/predict", {"records": [{**good, "id": 7}]}), 422) == [
        (0, "id", "extra_forbidden")
    ]
    assert _problem(_post(server, "/predict", {"records": [good], "x": 1}), 422) == [
        (None, "x", "extra_forbidden")
    ]
    assert _problem(raw_post('{"records": [{"age": 3'), 400)[0][2] == "json_invalid"
    assert _problem(_post(server, "/predict", {"records": [good] * 10_001}), 422) == [
        (None, "records", "too_long")
    ]
    assert _problem(_post(server, "/predict_one", {"records": [good, good]}), 422) == [
        (None, "records", "too_long")
    ]
    uneven = {k: [v] for k, v in good.items()} | {"age": [good["age"], 40]}
    assert _problem(_post(server, "/predict_columns", {"columns": uneven}), 422)[0][1] == "columns"
    huge = b'{"records": [' + b" " * (33 * 1024 * 1024) + b"]}"
    assert _problem(raw_post(huge), 413) == []
    text = httpx.post(f"{server.url}/predict", content=b"a", headers={"content-type": "text/csv"})
    assert _problem(text, 415) == []
    assert _problem(httpx.get(f"{server.url}/no/such/path"), 404) == []
    assert _problem(httpx.get(f"{server.url}/predict"), 405) == []
    failures = _metric(server, "bentoml_service_request_total", http_response_code="500")
    assert failures == 0


def test_unseen_category_follows_the_pipeline_policy(
    server: Server, project: Project, holdout: list[dict[str, Any]]
) -> None:
    artifact = load_artifact(_folder(project))
    assert artifact.pipeline.spec.unseen_category == "missing"
    spec = next(f for f in artifact.fields if f.name == "native-country")
    assert spec.categories is not None
    unseen = sorted(set(spec.categories) - set(artifact.pipeline.categories["native-country"]))
    assert unseen, "the tiny training set should miss some countries"
    before = _metric(server, "tabship_unknown_categories_total", field="native-country")
    record = {**holdout[0], "native-country": unseen[0]}
    answer = _post(server, "/predict", {"records": [record]})
    assert answer.status_code == 200
    assert answer.json()["unknown_categories"] == {"native-country": 1}
    after = _metric(server, "tabship_unknown_categories_total", field="native-country")
    assert after == before + 1


def test_metrics_and_prediction_log(server: Server, holdout: list[dict[str, Any]]) -> None:
    missing_before = _metric(server, "tabship_missing_values_total", field="occupation")
    requests_before = _metric(
        server, "bentoml_service_request_total", endpoint="/predict", http_response_code="200"
    )
    record = {**holdout[0], "occupation": None}
    answer = _post(server, "/predict", {"records": [record]}).json()
    assert _metric(server, "tabship_missing_values_total", field="occupation") == missing_before + 1
    assert (
        _metric(
            server, "bentoml_service_request_total", endpoint="/predict", http_response_code="200"
        )
        == requests_before + 1
    )
    assert _metric(server, "tabship_prediction_score_count") > 0
    text = httpx.get(f"{server.url}/metrics").text
    assert 'tabship_model_info{dataset_version="' in text
    prediction_id = answer["predictions"][0]["prediction_id"]
    log = read_log(server.log_path, "tabship-adult")
    row = log[log["prediction_id"] == prediction_id]
    assert len(row) == 1
    assert pd.isna(row.iloc[0]["occupation"])  # logged as null
    assert row.iloc[0]["score"] == answer["predictions"][0]["probability"]
    assert {"timestamp", "request_id", "label", "model_version"} <= set(log.columns)
    assert isinstance(row.iloc[0]["request_id"], str) and row.iloc[0]["request_id"].isdigit()


def test_random_paths_add_no_metric_series(server: Server) -> None:
    def series() -> set[str]:
        text = httpx.get(f"{server.url}/metrics").text
        return {line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")}

    httpx.get(f"{server.url}/no-such-path-warm-up")  # the first 404 creates the /other series
    before = series()
    for index in range(200):
        assert httpx.get(f"{server.url}/no-such-path-{index}").status_code == 404
    after = series()
    assert after == before, sorted(after - before)[:5]
    assert any('endpoint="/other"' in s for s in after)


def test_train_serve_skew(server: Server, project: Project, holdout: list[dict[str, Any]]) -> None:
    """1,000 holdout rows: HTTP scores equal the offline registry path's to 1e-9."""
    import pandas as pd

    from tabship.models import CHAMPION, Registry, load_train_config, predict

    rows = holdout[:1000]
    assert len(rows) >= 900
    served = _post(server, "/predict", {"records": rows}).json()["predictions"]
    config = load_train_config(project.home.dataset())
    registry = Registry(project.home, config.model_name, config.experiment)
    info = registry.alias(CHAMPION)
    assert info is not None and served[0]["model_version"] == info.version
    booster, pipeline = registry.load(info)
    frame = pd.DataFrame(rows)
    offline = predict(booster, pipeline.transform(frame).matrix)
    online = np.asarray([p["probability"] for p in served])
    assert np.max(np.abs(online - offline)) <= 1e-9


def test_auth_when_a_token_is_set(project: Project, holdout: list[dict[str, Any]]) -> None:
    from .conftest import start_server, stop_server

    guarded = start_server(project, token="t0ken")
    try:
        body = {"records": holdout[:1]}
        refused = _post(guarded, "/predict", body)
        assert _problem(refused, 401) == []
        allowed = _post(guarded, "/predict", body, headers={"Authorization": "Bearer t0ken"})
        assert allowed.status_code == 200
        assert httpx.get(f"{guarded.url}/readyz").status_code == 200
        assert httpx.get(f"{guarded.url}/metrics").status_code == 200
    finally:
        stop_server(guarded.process)
    assert guarded.process.poll() is not None


def test_an_echoed_name_is_capped_in_the_answer(
    server: Server, holdout: list[dict[str, Any]]
) -> None:
    """A field name of 1 MB comes back as 200 characters and a count (issue 28, point 3)."""
    name = "x" * 1_000_000
    response = _post(server, "/predict", {"records": [{**holdout[0], name: 1}]})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    (detail,) = response.json()["details"]
    assert detail["field"] == "x" * 200 + "... (999,800 more characters)"


def test_a_request_with_both_lengths_is_refused_and_nothing_smuggled_is_answered(
    server: Server,
) -> None:
    """Issue 28, point 13: h11 read such a body as chunked and answered the GET hidden in it."""
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    smuggled = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(smuggled)
        received = b""
        while chunk := connection.recv(65536):  # until the server closes the connection
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1, received
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Length and Transfer-Encoding" in received


def test_predict_one_takes_the_record_itself_too(
    server: Server, holdout: list[dict[str, Any]]
) -> None:
    """Issue 28: a caller posting one record got 15 problems back (`records` missing, 14 extra)."""
    wrapped = _post(server, "/predict_one", {"records": [holdout[3]]})
    bare = _post(server, "/predict_one", holdout[3])
    assert wrapped.status_code == bare.status_code == 200
    assert bare.json()[0]["probability"] == wrapped.json()[0]["probability"]
    broken = _post(server, "/predict_one", {**holdout[3], "age": "old"})
    assert broken.status_code == 422
    assert [(d["record"], d["field"]) for d in broken.json()["details"]] == [(0, "age")]


def test_an_explanation_names_the_value_the_request_sent(
    server: Server, holdout: list[dict[str, Any]]
) -> None:
    """Issue 28: a category's contribution came with its code (relationship 1.0), not its name."""
    record = holdout[0]
    explained = _post(server, "/explain", {"records": [record], "top_k": 100}).json()
    contributions = explained["explanations"][0]["contributions"]
    sent = {c["feature"]: c["value"] for c in contributions if c["feature"] in record}
    assert sent, contributions
    assert sent == {name: record[name] for name in sent}
    assert isinstance(sent["relationship"], str)
