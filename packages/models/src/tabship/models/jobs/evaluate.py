"""`evaluate`: re-score a registered model version on a dataset version's holdout."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tabship.data import Project, load_config
from tabship.models.config import load_train_config
from tabship.models.registry.registry import Registry, RegistryError
from tabship.models.training.data import load_version
from tabship.models.training.fit import predict
from tabship.models.training.metrics import binary_metrics


@dataclass(frozen=True)
class Evaluation:
    """One version's holdout metrics on one dataset version."""

    model_name: str
    model_version: str
    dataset_version: str
    holdout_rows: int
    holdout: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The command's JSON: what it always printed (no model name), in the same order."""
        document = asdict(self)
        document.pop("model_name")
        return document


def evaluate(
    project: Project,
    dataset: str | None = None,
    version: str | None = None,
    alias: str = "champion",
    dataset_version: str = "latest",
) -> Evaluation:
    """VERSION (else the version holding ALIAS) of DATASET's model, scored on DATASET_VERSION's
    holdout at train.yaml's threshold. RegistryError when no version has ALIAS."""
    config = load_train_config(project.dataset(dataset))
    registry = Registry.for_config(project, config)
    info = registry.version(version) if version else registry.alias(alias)
    if info is None:
        raise RegistryError(f"{config.model_name} has no version with alias {alias!r}")
    data_config = load_config(project.dataset(config.dataset).data_config, config.dataset)
    data = load_version(project, data_config, dataset_version)
    booster, pipeline = registry.load(info)
    score = predict(booster, pipeline.transform(data.holdout).matrix)
    metrics = binary_metrics(data.y_holdout, score, config.threshold)
    return Evaluation(
        config.model_name, info.version, data.manifest.version, len(data.holdout), metrics
    )
