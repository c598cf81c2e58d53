"""Score in this process, from a notebook or a batch job: a stored model loaded once, and frames
checked against its request schema and scored as the service scores them.

`tabship.serving.load_model()` is the package API's way in. It resolves the model as
`tabship-serving predict --local` does (the project's champion, stored first when it is not yet,
or a given BentoML tag), and each load checks the model's files against their sha256.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabship.data import Project, find_project

if TYPE_CHECKING:
    import pandas as pd

    from tabship.serving.runtime.artifact import Artifact, ModelFacts
    from tabship.serving.runtime.scorer import Scorer


@dataclass(frozen=True)
class LocalModel:
    """A served model in this process: the same files, schema and scorer as the service."""

    tag: str
    artifact: Artifact
    scorer: Scorer

    @property
    def facts(self) -> ModelFacts:
        """Where the model came from: name, version, run, dataset version, threshold."""
        return self.artifact.facts

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """FRAME's rows scored: prediction_id, probability, label, model_version, in FRAME's
        order. Columns outside the request schema (the target, ids) are left aside; a missing
        column or a value the schema refuses is a ValueError naming the column and the row."""
        import pandas as pd
        from pydantic import TypeAdapter, ValidationError

        from tabship.serving.web.schema import columns_type

        fields = self.artifact.fields
        missing = [f.name for f in fields if f.name not in frame.columns]
        if missing:
            raise ValueError(f"the frame lacks the request field(s) {', '.join(missing)}")
        columns = {
            f.name: frame[f.name].astype(object).where(frame[f.name].notna(), None).tolist()
            for f in fields
        }
        try:
            checked = TypeAdapter(columns_type(fields)).validate_python(columns)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ", row ".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg']} ({error.error_count()} error(s))") from None
        scored = self.scorer.score_columns(checked)
        return pd.DataFrame(
            {
                "prediction_id": scored.prediction_ids,
                "probability": scored.probability,
                "label": scored.label,
                "model_version": scored.model_version,
            },
            index=frame.index,
        )


def load_model(
    project: Project | Path | str | None = None,
    dataset: str | None = None,
    tag: str | None = None,
) -> LocalModel:
    """TAG from the BentoML store, else the champion of PROJECT's DATASET (the project found
    from the working directory, and its default dataset, by default), stored first when it is
    not yet. Its files are checked against their sha256 (IntegrityError names a bad one)."""
    from tabship.serving.runtime.artifact import load_artifact
    from tabship.serving.runtime.modelstore import model_to_serve, stored_folder
    from tabship.serving.runtime.scorer import Scorer

    chosen: Any = project
    resolved = chosen if isinstance(chosen, Project) else find_project(chosen)
    name = model_to_serve(resolved, tag, dataset)
    artifact = load_artifact(stored_folder(name))
    return LocalModel(name, artifact, Scorer(artifact))
