"""tabship.features: a feature pipeline fitted on training rows and saved as JSON."""

from importlib.metadata import version

from tabship.features.pipeline import (
    FittedPipeline,
    PipelineFileError,
    Transformed,
    UnseenCategoryError,
    fit,
    load_pipeline,
    pipeline_from_dict,
)
from tabship.features.spec import FeatureSpec, SpecError, load_spec, spec_from_dict

__version__ = version("tabship-features")
__all__ = [
    "FeatureSpec",
    "FittedPipeline",
    "PipelineFileError",
    "SpecError",
    "Transformed",
    "UnseenCategoryError",
    "fit",
    "load_pipeline",
    "load_spec",
    "pipeline_from_dict",
    "spec_from_dict",
]
