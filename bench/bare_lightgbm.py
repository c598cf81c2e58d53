"""The baseline for `nox -s bench`: the same CV and holdout as `invoke train`, as a bare script.

Reads the raw Adult files with pandas, lets LightGBM handle the categoricals, runs the same
stratified 5-fold CV with early stopping, the final fit and the holdout scoring, with the same
parameters, and nothing else: no validation, versioning, registry, card or gate.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip


def read(path: Path, skip: int) -> pd.DataFrame:
    frame = pd.read_csv(
        path, header=None, names=COLUMNS, skiprows=skip, na_values="?", skipinitialspace=True
    )
    frame["y"] = frame["income"].str.rstrip(".").eq(">50K").astype(int)
    return frame.drop(columns=["income"])


def main(root: Path) -> None:
    started = time.perf_counter()
    config = yaml.safe_load((root / "configs" / "datasets" / "adult" / "train.yaml").read_text())
    train = read(root / "data" / "raw" / "adult.data", 0)
    holdout = read(root / "data" / "raw" / "adult.test", 1)
    features = [c for c in COLUMNS if c != "income"]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    for column in categorical:
        levels = sorted(train[column].dropna().unique())
        train[column] = pd.Categorical(train[column], categories=levels)
        holdout[column] = pd.Categorical(holdout[column], categories=levels)
    params = {
        **config["params"],
        "seed": config["seed"],
        "num_threads": config["num_threads"],
        "deterministic": True,
        "force_row_wise": True,
        "metric": "binary_logloss",
    }
    dataset = lgb.Dataset(train[features], label=train["y"], free_raw_data=False)
    folds = StratifiedKFold(config["folds"], shuffle=True, random_state=config["seed"])
    history = lgb.cv(
        params,
        dataset,
        num_boost_round=config["num_boost_round"],
        folds=list(folds.split(train[features], train["y"])),
        callbacks=[lgb.early_stopping(config["early_stopping_rounds"], verbose=False)],
        return_cvbooster=True,
    )
    cv_booster = history["cvbooster"]
    assert isinstance(cv_booster, lgb.CVBooster)
    best = cv_booster.best_iteration
    booster = lgb.train(params, dataset, num_boost_round=best)
    score = np.asarray(booster.predict(holdout[features]))
    auc = roc_auc_score(holdout["y"], score)
    accuracy = accuracy_score(holdout["y"], score >= config["threshold"])
    seconds = time.perf_counter() - started
    print(f"bare: {best} rounds, holdout roc_auc {auc:.4f} accuracy {accuracy:.4f}, {seconds:.1f}s")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
