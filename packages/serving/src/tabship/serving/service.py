"""The BentoML service: the champion model behind predict, predict_one, explain, predict_columns.

Run it with `tabship-serving serve` (or `bentoml serve tabship.serving.service:TabshipClassifier`).
The model comes from the BentoML model store (`tabship-serving build` puts it there). The request
types are generated at import from the schema stored with the model, so the OpenAPI document, the
validation and the model's training contract are the same thing. A running service follows the
registry's champion (reload.py, POST /admin/reload and the watch) and, in shadow mode, has
the challenger score every logged request too, apart from the answers (shadow.py).
"""

# mypy: disable-error-code="misc,valid-type,untyped-decorator"
# bentoml's decorators are untyped, and the request types are built at import (valid-type).

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import bentoml
from bentoml._internal.context import server_context  # which worker this is: its log file
from pydantic import ConfigDict, Field, create_model
from starlette.responses import Response

from tabship.serving import __version__
from tabship.serving.errors import ClientError, Detail, ErrorBody
from tabship.serving.runtime.artifact import ModelFacts, read_facts, read_fields
from tabship.serving.runtime.memory import LARGE_ROWS, freeze_heap, refreeze_heap, release_memory
from tabship.serving.runtime.modelstore import newest_stored
from tabship.serving.runtime.reload import run_folder
from tabship.serving.settings import (
    CHALLENGER_TAG_ENV,
    MODEL_TAG_ENV,
    load_settings,
    serving_project,
)
from tabship.serving.web import logs, openapi
from tabship.serving.web.admin import PATH as RELOAD_PATH
from tabship.serving.web.admin import reload_route
from tabship.serving.web.boundedmetrics import bound_request_metrics
from tabship.serving.web.metrics import ServiceMetrics
from tabship.serving.web.middleware import GuardMiddleware
from tabship.serving.web.onerecord import (
    NOOP_ENV,
    NOOP_PATH,
    noop_route,
    one_answer,
    one_record_operation,
    one_record_route,
)
from tabship.serving.web.responses import (
    ColumnsResponse,
    ExplainResponse,
    PredictResponse,
)
from tabship.serving.web.routes import routes_app
from tabship.serving.web.schema import columns_type, example_record, record_type
from tabship.serving.web.timeout import cancel_request_timers

if TYPE_CHECKING:
    # Imported lazily below: they pull in LightGBM and pandas, which only the worker needs.
    from tabship.features import UnseenCategoryError
    from tabship.serving.runtime.scorer import Contribution, Scored, Scorer
    from tabship.serving.runtime.served import Served

SETTINGS = load_settings()
# Made here by BentoML's supervisor, which imports this module before it starts the workers: they
# inherit the folder's name and share it (the reload marker and lock; see reload.py).
RUN_FOLDER = run_folder()
# `tabship-serving serve` and the bento set the tag; a bare `bentoml serve` takes the newest one.
MODEL_TAG = os.environ.get(MODEL_TAG_ENV) or newest_stored()
MODEL_REF = bentoml.models.BentoModel(MODEL_TAG)
if MODEL_REF.stored is None:
    raise RuntimeError(
        f"model {MODEL_TAG} is not in the BentoML store: run `tabship-serving build`"
    )
# Set by `tabship-serving serve` when serving.yaml turns shadow mode on and there is a challenger.
CHALLENGER_TAG = os.environ.get(CHALLENGER_TAG_ENV) or None
# One folder per model name: the services of two datasets in one project keep apart logs. The
# folder is the project's, never the working directory's: the monitor reads the same one.
PROJECT = serving_project()
MODEL_NAME = MODEL_TAG.split(":")[0]
LOGS = PROJECT.model_logs(MODEL_NAME)
FIELDS = read_fields(Path(MODEL_REF.stored.path))  # checked against its sha256 first
Record = record_type(FIELDS)
Columns = columns_type(FIELDS)
STRICT = ConfigDict(extra="forbid")


def _records(most: int) -> Any:
    """A list of 1 to MOST records (Any: a type built at run time)."""
    return Annotated[list[Record], Field(min_length=1, max_length=most)]


PredictInput = create_model(
    "PredictInput",
    __config__=STRICT,
    records=(_records(SETTINGS.max_records), ...),
)
PredictOneInput = create_model(
    "PredictOneInput",
    __config__=STRICT,
    records=(_records(1), ...),
)
ExplainInput = create_model(
    "ExplainInput",
    __config__=STRICT,
    records=(_records(SETTINGS.max_explain_records), ...),
    top_k=(Annotated[int, Field(ge=1, le=100)], SETTINGS.top_k),
)
ColumnsInput = create_model("ColumnsInput", __config__=STRICT, columns=(Columns, ...))
PROTECTED = ("/predict", "/predict_one", "/explain", "/predict_columns")
# The serving benchmark's no-op /predict_one (onerecord.py), guarded and counted as the real one.
BENCH = os.environ.get(NOOP_ENV) == "1"
GUARDED = (*PROTECTED, NOOP_PATH) if BENCH else PROTECTED
bound_request_metrics((*GUARDED, RELOAD_PATH))
cancel_request_timers()


def _json(document: dict[str, Any]) -> Response:
    # json.dumps writes floats with repr: they round-trip exactly (the skew test relies on it).
    return Response(json.dumps(document), media_type="application/json")


def _refusal(error: ClientError, ctx: bentoml.Context) -> Response:
    """ERROR's body as the route's own answer: BentoML replaces a raised 5xx's body with a
    generic one, and this one says why (the prediction log is full). BentoML sets the status
    from CTX."""
    ctx.response.status_code = error.body.status
    return Response(error.body.to_bytes(), status_code=error.body.status,
                    media_type="application/json")  # fmt: skip


def _model_info(facts: ModelFacts) -> dict[str, str]:
    """The labels of the tabship_model_info gauge."""
    return {
        "model_name": facts.model_name,
        "model_version": facts.model_version,
        "dataset_version": facts.dataset_version,
    }


def _unseen_error(error: UnseenCategoryError) -> ClientError:
    detail = Detail(
        type="unseen_category", message=str(error), record=error.record, field=error.field
    )
    return ClientError(ErrorBody(422, "invalid_input", "a category unknown to the model", [detail]))


@bentoml.service(
    name="tabship_classifier",
    workers=SETTINGS.workers,
    traffic={"timeout": 60},
    # With no exporter configured, OpenTelemetry's spans go nowhere, yet they were the largest cost
    # of a request (half of /healthz's): off unless serving.yaml asks for them.
    tracing={} if SETTINGS.tracing else {"excluded_urls": [".*"]},
)
class TabshipClassifier:
    """The champion model: scores, labels and explanations for validated records."""

    model = MODEL_REF

    def __init__(self) -> None:
        from tabship.features import UnseenCategoryError
        from tabship.serving.runtime.logcap import read_segments
        from tabship.serving.runtime.predictlog import LogFullError, PredictionLog
        from tabship.serving.runtime.reload import Reloader, source_from_env
        from tabship.serving.runtime.served import Served, load_challenger, load_scorer
        from tabship.serving.runtime.shadow import ShadowLog, ShadowQueue
        from tabship.serving.runtime.shipper import start_shipper
        from tabship.serving.runtime.watch import start_watch

        logs.configure()
        self.unseen_error = UnseenCategoryError
        # One file per worker; each request's lines are in it before its answer is sent. With a
        # team store, in segments that each replica uploads for the monitor (runtime/shipper.py).
        team = PROJECT.remote_store
        segment = SETTINGS.log_segment_seconds
        self.prediction_log = PredictionLog(
            LOGS.predictions, server_context.worker_index or 0,
            segment_seconds=segment if team else None,
            max_bytes=SETTINGS.log_max_bytes // max(SETTINGS.workers, 1),
        )  # fmt: skip
        self.shipper = start_shipper(self.prediction_log, team, MODEL_NAME, min(segment, 10.0))
        self.prediction_log.consumed = read_segments(LOGS, self.shipper)
        self.log_full = LogFullError
        challenger = load_challenger(CHALLENGER_TAG, FIELDS) if SETTINGS.shadow else None
        served = Served(
            load_scorer(MODEL_TAG, FIELDS),
            MODEL_TAG,
            challenger,
            CHALLENGER_TAG if challenger else None,
        )
        self.kinds = {
            f.name: "categorical" if f.categories is not None else "numerical" for f in FIELDS
        }
        self.metrics = ServiceMetrics()
        lines = ShadowLog(LOGS.shadow)
        self.shadow = ShadowQueue(lines, self.metrics.shadow_dropped.inc)
        self.metrics.start(
            [f.name for f in FIELDS if f.nullable],
            list(served.champion.pipeline.spec.categorical),
            _model_info(served.champion.facts),
        )
        self.models = Reloader(
            served, FIELDS, source_from_env(), SETTINGS.shadow, RUN_FOLDER, self._swapped
        )
        start_watch(self.models, SETTINGS.reload_watch_seconds)
        freeze_heap()

    def _swapped(self, old: Served, new: Served) -> None:
        self.metrics.swapped(_model_info(old.champion.facts), _model_info(new.champion.facts))
        refreeze_heap()

    def reload(self) -> dict[str, Any]:
        """Serve the registry's champion now (POST /admin/reload; see reload.py)."""
        return self.models.reload()

    def _score(self, scorer: Scorer, records: list[dict[str, Any]], endpoint: str) -> Scored:
        try:
            scored = scorer.score_records(records)
        except self.unseen_error as error:
            raise _unseen_error(error) from None
        self.metrics.observe(endpoint, scored.probability, scored.missing, scored.unseen)
        return scored

    def _log(self, inputs: Any, scored: Scored) -> None:
        """INPUTS' rows in the prediction log, or a ClientError (503): an answer is never sent
        unlogged. /predict_one's route answers it; the others return it (_refusal)."""
        try:
            self.prediction_log.write(inputs, scored, self.kinds)
        except self.log_full as error:
            self.metrics.log_full.inc()
            raise ClientError(ErrorBody(503, "overloaded", str(error))) from None

    def _shadow(self, served: Served, inputs: Any, scored: Scored) -> None:
        """Hand INPUTS to the challenger served with the champion that scored them, if any (an
        append: the challenger scores in a thread of its own, and the answer does not wait)."""
        if served.challenger is not None:
            self.shadow.submit(served.challenger, inputs, scored)

    def _predictions(self, scored: Scored) -> list[dict[str, Any]]:
        version = scored.model_version
        return [
            {"prediction_id": i, "probability": p, "label": label, "model_version": version}
            for i, p, label in zip(
                scored.prediction_ids,
                scored.probability.tolist(),
                scored.label.tolist(),
                strict=True,
            )
        ]

    @bentoml.api(input_spec=PredictInput, output_spec=PredictResponse)
    def predict(self, records: list[dict[str, Any]], ctx: bentoml.Context) -> Response:
        """Score 1 to 10,000 records: probability, label at the threshold, prediction_id."""
        served = self.models.current  # once: a swap during this request does not reach it
        scored = self._score(served.champion, records, "predict")
        try:
            self._log(records, scored)  # before the answer: no loss
        except ClientError as refused:
            return _refusal(refused, ctx)
        self._shadow(served, records, scored)
        if len(records) >= LARGE_ROWS:
            ctx.response.background.add_task(release_memory)
        return _json(
            {
                "model_version": scored.model_version,
                "predictions": self._predictions(scored),
                "unknown_categories": scored.unseen,
            }
        )

    def predict_one(self, records: list[dict[str, Any]]) -> bytes:
        """Score one validated record; the JSON answer `[prediction]` (see onerecord.py)."""
        served = self.models.current
        scored = self._score(served.champion, records, "predict_one")
        self._log(records, scored)
        self._shadow(served, records, scored)
        return one_answer(scored)

    @bentoml.api(input_spec=ExplainInput, output_spec=ExplainResponse)
    def explain(self, records: list[dict[str, Any]], top_k: int) -> Response:
        """Scores plus each record's TOP_K largest feature contributions (log-odds units)."""
        scorer = self.models.current.champion  # explains with the model that scored
        scored = self._score(scorer, records, "explain")
        base, contributions = scorer.explain(scored.matrix, top_k)
        explanations = [
            {
                **prediction,
                "base_value": b,
                "contributions": [_contribution(c, record) for c in row],
            }
            for prediction, b, row, record in zip(
                self._predictions(scored), base, contributions, records, strict=True
            )
        ]
        return _json({"model_version": scored.model_version, "explanations": explanations})

    @bentoml.api(input_spec=ColumnsInput, output_spec=ColumnsResponse)
    def predict_columns(self, columns: dict[str, list[Any]], ctx: bentoml.Context) -> Response:
        """Bulk scoring: one list per field, all the same length (up to 200,000 rows)."""
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1 or not next(iter(lengths)):
            raise ClientError(
                ErrorBody(
                    422,
                    "invalid_input",
                    "columns must be non-empty and equally long",
                    [Detail(type="column_lengths", message=str(sorted(lengths)), field="columns")],
                )
            )
        rows = lengths.pop()
        if rows > SETTINGS.max_bulk_rows:
            limit = SETTINGS.max_bulk_rows
            raise ClientError(
                ErrorBody(
                    422,
                    "invalid_input",
                    f"at most {limit} rows per request",
                    [Detail(type="too_long", message=f"{rows} rows", field="columns")],
                )
            )
        served = self.models.current
        try:
            scored = served.champion.score_columns(columns)
        except self.unseen_error as error:
            raise _unseen_error(error) from None
        self.metrics.observe("predict_columns", scored.probability, scored.missing, scored.unseen)
        try:
            self._log(columns, scored)
        except ClientError as refused:
            return _refusal(refused, ctx)
        self._shadow(served, columns, scored)
        if rows >= LARGE_ROWS:
            ctx.response.background.add_task(release_memory)
        return _json(
            {
                "model_version": scored.model_version,
                "prediction_id": scored.prediction_ids,
                "probability": scored.probability.tolist(),
                "label": scored.label.tolist(),
                "unknown_categories": scored.unseen,
            }
        )


def _contribution(c: Contribution, record: dict[str, Any]) -> dict[str, Any]:
    """C as the answer gives it: the value is what the request sent for the feature (a category's
    name, not the code the model saw); a feature the pipeline made keeps the model's value."""
    value = record.get(c.feature, c.value)
    return {"feature": c.feature, "value": value, "contribution": c.contribution}


def _openapi(document: dict[str, Any]) -> dict[str, Any]:
    """/docs.json: BentoML's document as valid OpenAPI 3.1 that says what the service does."""
    facts = read_facts(Path(MODEL_REF.stored.path))
    example = example_record(FIELDS)
    operation, schemas = one_record_operation(PredictOneInput)
    return openapi.truthful(
        document,
        title="tabship classifier",
        version=f"{__version__}+model.{facts.model_name}.v{facts.model_version}",
        description=(
            f"{facts.model_name} version {facts.model_version} (run {facts.run_id}, dataset "
            f"{facts.dataset} at {facts.dataset_version}), label 1 at probability >= "
            f"{facts.threshold}. Every error answer has the Error body; any path may also answer "
            "404 (components.responses.NotFound) or 405 with an Allow header "
            "(components.responses.MethodNotAllowed)."
        ),
        protected=PROTECTED,
        examples={
            "/predict": {"records": [example]},
            "/predict_one": {"records": [example]},
            "/explain": {"records": [example], "top_k": SETTINGS.top_k},
            "/predict_columns": {"columns": {k: [v] for k, v in example.items()}},
        },
        max_bulk_rows=SETTINGS.max_bulk_rows,
        mounted={"/predict_one": operation},
        schemas=schemas,
    )


TabshipClassifier.add_asgi_middleware(  # type: ignore[attr-defined]  # set by @bentoml.service
    GuardMiddleware,
    protected=GUARDED,
    max_bytes=SETTINGS.max_request_bytes,
    openapi=_openapi,
    max_bytes_in_flight=SETTINGS.max_bytes_in_flight,
)

ROUTES = [one_record_route(PredictOneInput), reload_route(SETTINGS.reload_token_env)]
if BENCH:  # the serving benchmark's ceiling, never in production
    ROUTES.append(noop_route())
TabshipClassifier.mount_asgi_app(  # type: ignore[attr-defined]  # set by @bentoml.service
    routes_app(ROUTES), path="/"
)
