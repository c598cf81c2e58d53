"""The service's answer types: what the OpenAPI document promises each endpoint returns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Prediction(BaseModel):
    """One record's score."""

    prediction_id: str
    probability: float = Field(ge=0, le=1)
    label: int = Field(description="1 when probability >= the model's threshold, else 0")
    model_version: str


class PredictResponse(BaseModel):
    """Scores in the order of the request's records."""

    model_version: str
    predictions: list[Prediction]
    unknown_categories: dict[str, int] = Field(
        description="per field, values the model never saw in training (scored as missing)"
    )


class ContributionOut(BaseModel):
    """One feature's share of the record's log-odds, with the value the request sent for it (a
    category's name, not the code the model saw)."""

    feature: str
    value: float | int | str | None
    contribution: float


class Explanation(Prediction):
    """A score and its largest feature contributions (LightGBM pred_contrib, log-odds)."""

    base_value: float
    contributions: list[ContributionOut]


class ExplainResponse(BaseModel):
    """Explanations in the order of the request's records."""

    model_version: str
    explanations: list[Explanation]


class ColumnsResponse(BaseModel):
    """Column-wise scores for the bulk endpoint."""

    model_version: str
    prediction_id: list[str]
    probability: list[float]
    label: list[int]
    unknown_categories: dict[str, int]
