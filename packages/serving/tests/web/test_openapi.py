"""/docs.json is valid OpenAPI 3.1 and tells the truth: schemathesis finds nothing against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from ..conftest import Server

HERE = Path(__file__).resolve().parent
STATUSES = ("400", "401", "413", "415", "422")
PROTECTED = ("/predict", "/predict_one", "/explain", "/predict_columns")


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/docs.json", timeout=30)
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def test_the_served_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any fault


def test_every_status_a_prediction_endpoint_answers_is_documented_with_the_error_body(
    document: dict[str, Any],
) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for path in PROTECTED:
        operation = document["paths"][path]["post"]
        assert operation["requestBody"]["required"] is True
        assert "example" in operation["requestBody"]["content"]["application/json"]
        for status in STATUSES:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == error, (path, status)
        assert "404" not in operation["responses"]  # a prediction path exists
    responses = document["components"]["responses"]
    assert responses["NotFound"]["content"]["application/json"]["schema"] == error
    assert "Allow" in responses["MethodNotAllowed"]["headers"]
    columns = document["components"]["schemas"]["Columns"]
    assert all(c["minItems"] == 1 for c in columns["properties"].values())


def test_a_405_says_which_methods_the_path_has(server: Server) -> None:
    for path, allowed in (("/predict", "POST"), ("/readyz", "GET")):
        answer = httpx.request("DELETE", f"{server.url}{path}", timeout=10)
        assert answer.status_code == 405
        assert allowed in answer.headers["allow"]
        assert answer.json()["error"] == "method_not_allowed"


def test_an_integral_float_is_an_integer_as_json_schema_says(
    document: dict[str, Any], server: Server
) -> None:
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = dict(body["example"]["records"][0])
    integers = [
        name
        for name, prop in document["components"]["schemas"]["Record"]["properties"].items()
        if prop.get("type") == "integer"
    ]
    record[integers[0]] = float(record[integers[0]])
    assert httpx.post(f"{server.url}/predict", json={"records": [record]}).status_code == 200
    record[integers[0]] += 0.5
    assert httpx.post(f"{server.url}/predict", json={"records": [record]}).status_code == 422


def test_schemathesis_finds_nothing_in_any_phase(server: Server, tmp_path: Path) -> None:
    """Examples, coverage and fuzzing over every operation, with every check. The seed is fixed so
    that a failure can be replayed; `nox -s test -- -k schemathesis` runs it alone."""
    junit = tmp_path / "schemathesis.xml"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{server.url}/docs.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        os.environ.get("TABSHIP_SCHEMATHESIS_EXAMPLES", "60"),
        "--seed",
        "20261201",
        "--workers",
        "2",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=900
    )
    assert done.returncode == 0, done.stdout[-6000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    operations = {case.get("name") for case in cases}
    assert len(operations) == 8, operations  # 4 prediction endpoints, 4 infrastructure ones
    generated = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert generated is not None, done.stdout[-2000:]
    assert int(generated.group(1)) == int(generated.group(2)) > 200
