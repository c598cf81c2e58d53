"""The pieces of the hot swap without a server: the schema check, the reload endpoint's refusals,
the marker a worker follows, the settings that turn it on, and what `serve` passes the service.
(test_hotswap.py runs them for real on `bentoml serve`.)"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tabship.data import ConfigError, FieldSpec
from tabship.serving.cli import serve_env, shadow_env
from tabship.serving.runtime.artifact import read_fields
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.reload import MARKER, RUN_DIR_ENV, Reloader, ReloadError, run_folder
from tabship.serving.runtime.served import SchemaChangedError, Served, field_changes, load_scorer
from tabship.serving.settings import load_settings, secret
from tabship.serving.web.admin import reload_route
from tabship.serving.web.middleware import GuardMiddleware
from tabship.serving.web.routes import routes_app

from ..conftest import Project


def _post(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, **kwargs)

    return asyncio.run(go())


def test_field_changes_name_each_field_and_ignore_the_order() -> None:
    age = FieldSpec("age", "integer", False, ge=0, le=120)
    sex = FieldSpec("sex", "string", False, categories=("Female", "Male"))
    assert field_changes([age, sex], [sex, age]) == []
    older = FieldSpec("age", "integer", False, ge=0, le=110)
    hours = FieldSpec("hours", "number", True)
    assert field_changes([age, sex], [older, hours]) == [
        "added hours",
        "removed sex",
        "changed age",
    ]


def test_a_model_with_other_fields_is_refused_at_load(project: Project) -> None:
    fields = read_fields(stored_folder(project.tag))
    assert load_scorer(project.tag, fields).version == "1"
    with pytest.raises(SchemaChangedError, match=r"\(added age\).*restart"):
        load_scorer(project.tag, [f for f in fields if f.name != "age"])


def test_the_reload_endpoint_is_off_without_a_token_and_needs_the_right_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TABSHIP_RELOAD_TOKEN", raising=False)
    # Behind the service's middleware, as in the service: its refusals keep the one error shape.
    app = GuardMiddleware(routes_app([reload_route("TABSHIP_RELOAD_TOKEN")]), (), 1000)
    off = _post(app, "/admin/reload")
    assert off.status_code == 403
    assert off.json()["error"] == "reload_disabled"
    assert "TABSHIP_RELOAD_TOKEN" in off.json()["message"]

    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", "s3cret")
    app = GuardMiddleware(routes_app([reload_route("TABSHIP_RELOAD_TOKEN")]), (), 1000)
    for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "s3cret"}):
        refused = _post(app, "/admin/reload", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert set(refused.json()) == {"error", "message", "details"}


def test_a_token_comes_from_a_file_as_secrets_are_mounted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TABSHIP_RELOAD_TOKEN", raising=False)
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN_FILE", str(secret_file))
    assert secret("TABSHIP_RELOAD_TOKEN") == "s3cret"  # the newline dropped
    app = GuardMiddleware(routes_app([reload_route("TABSHIP_RELOAD_TOKEN")]), (), 1000)
    assert _post(app, "/admin/reload", headers={"authorization": "Bearer nope"}).status_code == 401
    wrong = {
        "both": ({"TABSHIP_RELOAD_TOKEN": "x", "TABSHIP_RELOAD_TOKEN_FILE": str(secret_file)},
                 "both set"),
        "missing": ({"TABSHIP_RELOAD_TOKEN_FILE": str(tmp_path / "nope")}, "cannot read it"),
        "spaces": ({"TABSHIP_RELOAD_TOKEN_FILE": str(tmp_path / "spaces")}, "not a token"),
    }  # fmt: skip
    (tmp_path / "spaces").write_text("two words\n", encoding="utf-8")
    for environ, message in wrong.values():
        with pytest.raises(ConfigError, match=message):
            secret("TABSHIP_RELOAD_TOKEN", environ)
    assert secret("TABSHIP_RELOAD_TOKEN", {}) is None


@dataclass
class Watched:
    """A reloader over the session's model, and the swaps it reported."""

    reloader: Reloader
    swaps: list[tuple[Served, Served]] = field(default_factory=list)


@pytest.fixture
def watched(project: Project, tmp_path: Path) -> Watched:
    fields = read_fields(stored_folder(project.tag))
    served = Served(load_scorer(project.tag, fields), project.tag)
    found = Watched(Reloader(served, fields, None, False, tmp_path, lambda a, b: None))
    found.reloader.on_swap = lambda a, b: found.swaps.append((a, b))
    return found


def test_without_a_project_a_reload_is_a_503_and_the_model_serves_on(watched: Watched) -> None:
    before = watched.reloader.current
    with pytest.raises(ReloadError) as refused:
        watched.reloader.reload()
    assert refused.value.body.status == 503
    assert "--project" in refused.value.body.message
    assert watched.reloader.current is before and watched.swaps == []


def test_a_worker_follows_the_marker_and_survives_a_bad_one(
    watched: Watched, project: Project
) -> None:
    reloader = watched.reloader
    before = reloader.current
    reloader.follow()  # no marker yet: nothing happens
    marker = reloader.folder / MARKER
    marker.write_text(json.dumps({"champion": "tabship-adult:nosuchtag", "challenger": None}))
    reloader.follow()  # logged, once; the model serves on
    assert reloader.current is before and watched.swaps == []
    marker.write_text(json.dumps({"champion": project.tag, "challenger": None}))
    reloader.follow()  # what is served already: no swap
    assert reloader.current.champion is before.champion and watched.swaps == []


def test_the_run_folder_is_made_once_and_inherited(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(RUN_DIR_ENV, "")  # so that the variable run_folder sets is undone after
    monkeypatch.delenv(RUN_DIR_ENV)
    made = run_folder()  # the supervisor
    assert made.is_dir()
    assert run_folder() == made  # a worker, started with the supervisor's environment
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "given"))
    assert run_folder() == tmp_path / "given" and (tmp_path / "given").is_dir()


def test_settings_of_the_wrong_type_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "serving.yaml"
    for text, wanted in (
        ("shadow: yes-please", "shadow must be of type bool"),
        ("workers: true", "workers must be of type int"),
        ("reload_watch_seconds: -1", "reload_watch_seconds must be 0"),
        ("reload_token_env: 3", "reload_token_env must be of type str"),
        ("log_max_bytes: 1000", "log_max_bytes must be 1048576"),
        ("log_max_bytes: 1.5e9", "log_max_bytes must be of type int"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=wanted):
            load_settings(path)
    path.write_text("shadow: true\nreload_watch_seconds: 2\nworkers: 2\n", encoding="utf-8")
    settings = load_settings(path)
    assert (settings.shadow, settings.reload_watch_seconds, settings.workers) == (True, 2, 2)
    assert settings.reload_token_env == "TABSHIP_RELOAD_TOKEN"


def test_serve_tells_the_service_its_project_and_dataset(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUN_DIR_ENV, "/somewhere/else")
    env = serve_env(project.home, "adult")
    assert env["TABSHIP_PROJECT"] == str(project.root)
    assert env["TABSHIP_DATASET"] == "adult"
    assert RUN_DIR_ENV not in env  # each service makes its own
    assert serve_env(project.home)["TABSHIP_DATASET"] == "adult"  # the project's default
    assert shadow_env(project.home, None, env) == {}  # shadow is off by default
