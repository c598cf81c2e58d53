"""The receiver's parts without a server: its config (secrets from the environment or files, one
line per fault), the mapping of alerts to retrain requests, the dedup key and window, and the
signature check. The HTTP side, with a real Alertmanager, is in tests/receiver/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tabship.data import ConfigError
from tabship.models.receiver.alertgroup import (
    PayloadError,
    UnknownAlertError,
    parse_group,
    retrain_requests,
)
from tabship.models.receiver.auth import authorized, sign
from tabship.models.receiver.config import (
    DEFAULT_TRIGGERS,
    load_receiver_config,
    receiver_config_from_dict,
)
from tabship.models.receiver.dedup import RecentKeys

REPO = Path(__file__).resolve().parents[4]
ENV = {"TOKEN": "t0ken", "CI": "ci-token"}
DATASETS = {"tabship-adult": "adult", "tabship-bank": "bank"}


def raw(**changes: Any) -> dict[str, Any]:
    return {"auth": {"bearer_token": {"env": "TOKEN"}}, **changes}


def test_the_committed_config_loads_with_its_token_from_the_environment() -> None:
    config = load_receiver_config(
        REPO / "configs" / "receiver.yaml", REPO, {"TABSHIP_RECEIVER_TOKEN": "tok-XYZ-secret"}
    )
    assert (config.mode, config.host, config.port, config.path) == (
        "local",
        "127.0.0.1",
        9095,
        "/alerts",
    )
    assert config.bearer_token == "tok-XYZ-secret" and config.hmac_secret is None
    assert config.local is not None
    assert config.local.command[:3] == ("nox", "-s", "retrain")
    assert config.triggers == DEFAULT_TRIGGERS
    assert "tok-XYZ-secret" not in repr(config)  # secrets stay out of logs and tracebacks


def test_a_secret_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    config = receiver_config_from_dict(
        {"auth": {"hmac_secret": {"file": str(tmp_path / "token")}}}, "c", tmp_path, {}
    )
    assert config.hmac_secret == b"from-file" and config.bearer_token is None


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"auth": {"bearer_token": "written-here"}}, "a secret is not written here"),
        ({"auth": {"bearer_token": {"env": "UNSET"}}}, "UNSET is not set"),
        ({"auth": {"bearer_token": {"file": "/no/such/file"}}}, "cannot read /no/such/file"),
        ({"auth": {}}, "auth needs bearer_token or hmac_secret"),
        ({"mode": "buildkite"}, "field 'mode' must be one of"),
        ({"port": 70000}, "field 'port'"),
        ({"dedup_window_seconds": -1}, "dedup_window_seconds"),
        ({"triggers": {"X": "retrain"}}, "triggers.X: 'retrain' is not one of"),
        ({"local": {"command": ["run", "{dataset}", "{version}"]}}, "names ['version']"),
        ({"mode": "github", "github": {"repository": "just-a-name", "token": {"env": "CI"}}},
         "OWNER/NAME"),
        ({"mode": "gitlab", "gitlab": {"token": {"env": "CI"}}}, "field 'project'"),
        ({"mode": "jenkins", "jenkins": {"url": "ftp://j", "job": "x", "user": "u",
                                         "token": {"env": "CI"}}}, "http(s) URL"),
        ({"extra": 1}, "unknown field(s) extra"),
    ],
)  # fmt: skip
def test_config_faults_are_one_line_naming_the_field(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        receiver_config_from_dict({**raw(), **changes}, "receiver.yaml", REPO, ENV)
    assert words in str(caught.value)
    assert str(caught.value).startswith("receiver.yaml")
    assert "\n" not in str(caught.value)


def notification(*alerts: dict[str, Any], group_key: str = "{}:{a=b}") -> bytes:
    return json.dumps({"version": "4", "status": "firing", "groupKey": group_key,
                       "alerts": list(alerts)}).encode()  # fmt: skip


def alert(
    name: str, fingerprint: str = "f1", status: str = "firing", **labels: str
) -> dict[str, Any]:
    return {"status": status, "fingerprint": fingerprint,
            "labels": {"alertname": name, "model_name": "tabship-adult", **labels}}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "trigger"),
    [("TabshipFeatureDrift", "drift"), ("TabshipLiveRocAucDrop", "live_drop"),
     ("TabshipLiveAccuracyDrop", "live_drop"), ("TabshipEstimatedRocAucDrop", "estimate_drop"),
     ("TabshipEstimatedAccuracyDrop", "estimate_drop")],
)  # fmt: skip
def test_each_retrain_alert_maps_to_its_trigger(name: str, trigger: str) -> None:
    config = receiver_config_from_dict(raw(), "c", REPO, ENV)
    (request,) = retrain_requests(
        parse_group(notification(alert(name))), config.trigger_for, DATASETS
    )
    assert (request.trigger, request.dataset, request.model_name) == (
        trigger,
        "adult",
        "tabship-adult",
    )


def test_one_request_per_dataset_carrying_the_strongest_trigger() -> None:
    config = receiver_config_from_dict(raw(), "c", REPO, ENV)
    group = parse_group(notification(
        alert("TabshipFeatureDrift", "f1"), alert("TabshipLiveRocAucDrop", "f2"),
        alert("TabshipFeatureDrift", "f3", model_name="tabship-bank"),
        alert("TabshipEstimatedRocAucDrop", "f4", status="resolved"),
    ))  # fmt: skip
    requests = retrain_requests(group, config.trigger_for, DATASETS)
    assert [(r.dataset, r.trigger, r.alertnames) for r in requests] == [
        ("adult", "live_drop", ("TabshipFeatureDrift", "TabshipLiveRocAucDrop")),
        ("bank", "drift", ("TabshipFeatureDrift",)),
    ]


def test_unknown_alerts_are_refused_or_passed_over() -> None:
    config = receiver_config_from_dict(raw(), "c", REPO, ENV)
    group = parse_group(notification(alert("TabshipFeatureDrift"), alert("Other", "f2")))
    with pytest.raises(UnknownAlertError, match="Other: no trigger"):
        retrain_requests(group, config.trigger_for, DATASETS)
    (kept,) = retrain_requests(group, config.trigger_for, DATASETS, ignore_unknown=True)
    assert kept.alertnames == ("TabshipFeatureDrift",)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"{", "not JSON"), (b"[]", "JSON object"), (b'{"version": "3"}', 'version "4"'),
     (notification({"status": "firing", "labels": {"alertname": "A"}}), "fingerprint"),
     (notification({"status": "firing", "fingerprint": "x", "labels": {"a": 1}}), "strings")],
)  # fmt: skip
def test_a_body_that_is_no_notification_is_a_payload_error(body: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words):
        parse_group(body)


def test_the_dedup_key_is_the_group_and_its_firing_fingerprints() -> None:
    one = parse_group(notification(alert("A", "f1"), alert("A", "f2")))
    same = parse_group(notification(alert("A", "f2"), alert("A", "f1")))
    resolved_too = parse_group(
        notification(alert("A", "f2"), alert("A", "f1"), alert("A", "f3", "resolved"))
    )
    grown = parse_group(notification(alert("A", "f1"), alert("A", "f2"), alert("A", "f3")))
    other_group = parse_group(
        notification(alert("A", "f1"), alert("A", "f2"), group_key="{}:{x=y}")
    )
    assert one.dedup_key() == same.dedup_key() == resolved_too.dedup_key()
    assert len({one.dedup_key(), grown.dedup_key(), other_group.dedup_key()}) == 3


def test_recent_keys_forget_after_the_window_or_when_told() -> None:
    now = [0.0]
    keys = RecentKeys(60, clock=lambda: now[0])
    assert keys.add("k") and not keys.add("k")
    now[0] = 59.9
    assert not keys.add("k")
    now[0] = 60.0
    assert keys.add("k")
    keys.forget("k")
    assert keys.add("k")
    zero = RecentKeys(0)  # a window of 0: no dedup at all
    assert zero.add("z") and zero.add("z")


def test_bearer_and_signature_checks() -> None:
    body, secret = b'{"a": 1}', b"s3cret"
    assert authorized("Bearer tok", "", body, "tok", None)
    assert authorized("bearer tok", "", body, "tok", None)
    assert not authorized("Bearer tok2", "", body, "tok", None)
    assert not authorized("Bearer ", "", body, "", None)
    assert not authorized("", "", body, None, None)
    assert authorized("", sign(body, secret), body, None, secret)
    assert not authorized("", sign(body + b"x", secret), body, None, secret)
    assert not authorized("Bearer tok", sign(body, secret), body, None, b"other")
    stamp, digest = sign(body, secret, 1_700_000_000).split(",")
    assert stamp == "t=1700000000" and digest.startswith("sha256=") and len(digest) == 7 + 64


def test_a_signature_is_good_for_five_minutes_and_then_a_replay_is_refused() -> None:
    """Issue 28, point 9: the timestamp is signed with the body, and an old one is refused."""
    body, secret, signed_at = b'{"a": 1}', b"s3cret", 1_700_000_000
    header = sign(body, secret, signed_at)
    assert authorized("", header, body, None, secret, now=signed_at + 299)
    assert not authorized("", header, body, None, secret, now=signed_at + 301)  # a replay
    assert not authorized("", header, body, None, secret, now=signed_at - 301)
    moved = header.replace("t=1700000000", f"t={signed_at + 600}")  # a new time, the old HMAC
    assert not authorized("", moved, body, None, secret, now=signed_at + 600)
    bare = header.split(",")[1]  # the body's HMAC alone, as signatures used to be
    assert not authorized("", bare, body, None, secret, now=signed_at)
    assert not authorized("", "t=abc,sha256=00", body, None, secret, now=signed_at)


def test_the_receiver_loads_no_heavy_library() -> None:
    """The receiver is a deployable of its own: importing it (and the models package's API
    module it lives in) loads none of the training stack. import-linter keeps it off the other
    folders of tabship.models; this checks what actually loads, in a fresh interpreter."""
    heavy = ("lightgbm", "mlflow", "dask", "distributed", "matplotlib", "sklearn", "scipy",
             "pandas", "numpy", "polars", "pyarrow", "pandera")  # fmt: skip
    code = (
        "import sys\n"
        "import tabship.models.receiver.server, tabship.models.receiver.dispatch\n"
        "import tabship.models.receiver.config, tabship.models.receiver.queue\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
