"""An upgrade without a restart: the serving image follows the registry the training image fills
(the Deployment's pod, plus the project mounted at its own path, the model store on the state
volume and the reload token as a second file of the Secret). The training image trains a new
champion while it serves, and POST /admin/reload, which takes only the reload token, serves it.

This module runs last in tests/containers (file order): it adds a version to the registry that
test_training_image.py reads."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from tabship_dev.images.check import free_port, http, served_example
from tabship_dev.images.engine import Podman
from tabship_dev.images.pod import pod

SECRETS = "/var/run/secrets/tabship"  # where the Deployment mounts its Secret


def test_a_new_champion_is_served_after_a_reload_with_the_token_from_the_secret(
    serving_image: dict[str, Any],
    manifests: list[Any],
    containers: SimpleNamespace,
    tmp_path: Path,
) -> None:
    trained = serving_image["trained"]
    project, first = trained["project"], trained["train"]  # owned by the images' user, 10001
    api, reload = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    spec = pod(manifests, tmp_path / "pod", {"tabship-serving": {"api-token": api}},
               image=serving_image["name"])  # fmt: skip
    token_file = spec.volumes[SECRETS] / "reload-token"  # a second key of the same Secret
    token_file.write_text(reload, encoding="utf-8")
    os.chown(token_file, 0, 10001)
    token_file.chmod(0o440)
    flags = [*spec.flags, "--volume", f"{project}:{project}",
             "--env", "BENTOML_HOME=/var/lib/tabship/bentoml",  # a writable store, on the volume
             "--env", f"TABSHIP_RELOAD_TOKEN_FILE={SECRETS}/reload-token"]  # fmt: skip
    port = free_port(prefer=0)
    url = f"http://127.0.0.1:{port}"
    engine = Podman()
    command = ["tabship-serving", "serve", "--host", "127.0.0.1", "--project", str(project)]
    with engine.started(spec.image, command, port, flags=flags) as process:
        containers.wait_served(engine, process, url)
        record = served_example(url)
        status, answer = http(f"{url}/predict", record, 120, token=api)
        assert status == 200 and answer["model_version"] == first["model_version"], answer

        # A new champion, trained by the training image while the container serves the first.
        gate = project / "configs" / "datasets" / "adult" / "gate.yaml"
        config = yaml.safe_load(gate.read_text(encoding="utf-8"))
        config["champion_margin"] = {"roc_auc": 1.0}  # the candidate may fall 1.0 below: any passes
        gate.write_text(yaml.safe_dump(config), encoding="utf-8")
        train_yaml = project / "configs" / "datasets" / "adult" / "train.yaml"
        settings = yaml.safe_load(train_yaml.read_text(encoding="utf-8"))
        settings["num_boost_round"] = int(settings.get("num_boost_round", 40)) + 5
        train_yaml.write_text(yaml.safe_dump(settings), encoding="utf-8")
        for path in (gate, train_yaml):
            os.chown(path, 10001, 10001)
        second = containers.train_in_image(trained["image"], project)
        assert second["status"] == "promoted", second.get("gate_table")

        assert (
            http(f"{url}/admin/reload", {}, 120, token=api)[0] == 401
        )  # the API token is not the reload one
        status, reloaded = http(f"{url}/admin/reload", {}, 120, token=reload)
        assert status == 200, f"{reloaded}\n{engine.tail()}"
        status, answer = http(f"{url}/predict", record, 120, token=api)
        assert status == 200 and answer["model_version"] == second["model_version"], answer
        print(f"\nreload in the container: version {first['model_version']} -> "
              f"{second['model_version']}: {reloaded}")  # fmt: skip
