"""Alertmanager's webhook body (payload version 4) and what it asks of the retraining trigger.

Alertmanager posts one notification per alert group: `groupKey` names the group, each alert has
its `fingerprint`, and `status` is firing or resolved. Only firing alerts ask for a retrain; the
alert's `model_name` label (set by the monitor job's push) picks the dataset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Labelled evidence first: when one group names several triggers for one dataset, the request
# carries the strongest (a measured drop, then an estimated one, then drift).
PRIORITY = ("live_drop", "estimate_drop", "drift", "manual", "schedule")


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook notification (HTTP 400)."""


class UnknownAlertError(ValueError):
    """A firing alert maps to no trigger, or names a model the project does not have (HTTP 422)."""


@dataclass(frozen=True)
class Alert:
    name: str
    status: str
    labels: dict[str, str]
    fingerprint: str


@dataclass(frozen=True)
class AlertGroup:
    group_key: str
    status: str
    alerts: tuple[Alert, ...]

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    def dedup_key(self) -> str:
        """The group's key plus its firing alerts' fingerprints: the same group sent again (a
        retry, a second Alertmanager of an HA pair) has the same key; a new alert joining it
        changes the key."""
        parts = [self.group_key, *sorted(a.fingerprint for a in self.firing)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class RetrainRequest:
    """One retrain to start: what the local command, the CI variables and the payload carry."""

    dataset: str
    model_name: str
    trigger: str
    alertnames: tuple[str, ...]
    group_key: str

    def fields(self) -> dict[str, str]:
        return {
            "trigger": self.trigger,
            "dataset": self.dataset,
            "model_name": self.model_name,
            "alertnames": ",".join(self.alertnames),
        }


def _text_map(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise PayloadError(f"{where} must be an object of strings")
    return {str(k): v for k, v in raw.items()}


def parse_group(body: bytes) -> AlertGroup:
    """The notification in BODY; PayloadError (one line) when it is not one."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"the body is not JSON: {error}") from None
    except RecursionError:  # a body nested thousands deep: json's parser gives up, so do we
        raise PayloadError("the body is nested too deeply") from None
    if not isinstance(raw, dict):
        raise PayloadError("the body must be a JSON object")
    if raw.get("version") != "4":
        raise PayloadError(
            f'expected Alertmanager\'s webhook version "4", got {raw.get("version")!r}'
        )
    group_key, alerts = raw.get("groupKey"), raw.get("alerts")
    if not isinstance(group_key, str) or not isinstance(alerts, list):
        raise PayloadError("the body needs a string 'groupKey' and a list 'alerts'")
    parsed = []
    for number, alert in enumerate(alerts):
        where = f"alerts[{number}]"
        if not isinstance(alert, dict):
            raise PayloadError(f"{where} must be an object")
        labels = _text_map(alert.get("labels"), f"{where}.labels")
        status, fingerprint = alert.get("status"), alert.get("fingerprint")
        if status not in ("firing", "resolved") or not isinstance(fingerprint, str):
            raise PayloadError(f"{where} needs status firing|resolved and a string fingerprint")
        if "alertname" not in labels:
            raise PayloadError(f"{where}.labels has no alertname")
        parsed.append(Alert(labels["alertname"], status, labels, fingerprint))
    return AlertGroup(group_key=group_key, status=str(raw.get("status", "")), alerts=tuple(parsed))


def retrain_requests(
    group: AlertGroup,
    trigger_for: Callable[[str], str | None],
    datasets: Mapping[str, str],
    ignore_unknown: bool = False,
) -> list[RetrainRequest]:
    """One request per dataset named by the group's firing alerts, in dataset order.

    DATASETS maps model names to dataset names. An alert without a known trigger, or with a
    `model_name` (or `dataset` label) the project does not have, raises UnknownAlertError, or is
    passed over when IGNORE_UNKNOWN.
    """
    model_of = {dataset: model for model, dataset in datasets.items()}
    wanted: dict[str, list[tuple[str, str]]] = {}
    for alert in group.firing:
        trigger = trigger_for(alert.name)
        model = alert.labels.get("model_name", "")
        dataset = alert.labels.get("dataset") or datasets.get(model, "")
        if dataset not in model_of:
            problem = f"{alert.name}: model_name {model!r} is no model of this project's datasets"
        elif trigger is None:
            problem = f"{alert.name}: no trigger is configured for this alert name"
        else:
            wanted.setdefault(dataset, []).append((alert.name, trigger))
            continue
        if not ignore_unknown:
            raise UnknownAlertError(problem)
    return [
        RetrainRequest(
            dataset=dataset,
            model_name=model_of[dataset],
            trigger=min((t for _, t in named), key=PRIORITY.index),
            alertnames=tuple(sorted({name for name, _ in named})),
            group_key=group.group_key,
        )
        for dataset, named in sorted(wanted.items())
    ]
