"""One record's score: LightGBM's single-row C API (singlerow.py) and the pure-Python transform
of one record give exactly what Booster.predict and the vectorised transform give."""

from __future__ import annotations

import json
import threading

import numpy as np

from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.scorer import Scorer
from tabship.serving.runtime.singlerow import single_row
from tabship.serving.web.onerecord import one_answer

from ..conftest import Project


def _rows(project: Project, count: int) -> tuple[Scorer, list[dict[str, object]]]:
    scorer = Scorer(load_artifact(stored_folder(project.tag)))
    names = [f.name for f in scorer.fields]
    frame = project.holdout().head(count)[names]
    frame = frame.astype(object).where(frame.notna(), None)
    rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
    rows[0] = {**rows[0], "workclass": "never-seen", "age": None}  # unseen and missing
    return scorer, rows


def test_one_row_is_scored_as_booster_predict_scores_it(project: Project) -> None:
    scorer, rows = _rows(project, 500)
    fast = single_row(scorer.booster, scorer.booster.num_feature())
    assert fast is not None
    matrix = scorer.pipeline.transform_records(rows).matrix
    expected = scorer.booster.predict(matrix)
    got = np.concatenate([fast(row) for row in matrix])
    assert np.array_equal(got, expected)  # bit for bit
    one = [scorer.score_records([row]).probability[0] for row in rows]
    assert np.array_equal(np.asarray(one), scorer.score_records(rows).probability)


def test_one_record_transforms_as_the_vectorised_path_does(project: Project) -> None:
    scorer, rows = _rows(project, 300)
    pipeline = scorer.pipeline
    for row in rows:
        one, many = pipeline.transform_one(row), pipeline.transform_records([row])
        assert np.array_equal(one.matrix, many.matrix, equal_nan=True) and one.unseen == many.unseen


def test_threads_scoring_one_row_each_get_their_own_answers(project: Project) -> None:
    scorer, rows = _rows(project, 64)
    expected = scorer.score_records(rows).probability
    found: dict[int, float] = {}

    def work(index: int) -> None:
        for _ in range(200):
            value = float(scorer.score_records([rows[index]]).probability[0])
            assert found.setdefault(index, value) == value

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(rows))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [found[i] for i in range(len(rows))] == expected.tolist()


def test_one_answer_is_what_json_dumps_writes(project: Project) -> None:
    scorer, rows = _rows(project, 50)
    for row in rows:
        scored = scorer.score_records([row])
        document = [
            {
                "prediction_id": scored.prediction_ids[0],
                "probability": scored.probability.tolist()[0],
                "label": scored.label.tolist()[0],
                "model_version": scored.model_version,
            }
        ]
        assert one_answer(scored) == json.dumps(document).encode()  # fmt: skip
