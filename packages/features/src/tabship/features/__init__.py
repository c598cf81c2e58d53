"""tabship.features: a feature pipeline fitted on training rows and saved as JSON.

This module is the package's API; the packages above import from here, never from submodules.
Names load on first use (PEP 562), so reading a spec (`load_spec`) does not import numpy and
pandas: a cached `tabship-models train` reads the spec and must answer within a second.
"""

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabship.features.pipeline import (
        FittedPipeline,
        PipelineFileError,
        Transformed,
        UnseenCategoryError,
        add_counts,
        category_counts,
        fit,
        fit_counts,
        load_pipeline,
        pipeline_from_dict,
    )
    from tabship.features.spec import FeatureSpec, SpecError, load_spec, spec_from_dict

__version__ = version("tabship-features")

_EXPORTS = {
    "FeatureSpec": "spec",
    "FittedPipeline": "pipeline",
    "PipelineFileError": "pipeline",
    "SpecError": "spec",
    "Transformed": "pipeline",
    "UnseenCategoryError": "pipeline",
    "add_counts": "pipeline",
    "category_counts": "pipeline",
    "fit": "pipeline",
    "fit_counts": "pipeline",
    "load_pipeline": "pipeline",
    "load_spec": "spec",
    "pipeline_from_dict": "pipeline",
    "spec_from_dict": "spec",
}
__all__ = [
    "FeatureSpec",
    "FittedPipeline",
    "PipelineFileError",
    "SpecError",
    "Transformed",
    "UnseenCategoryError",
    "__version__",
    "add_counts",
    "category_counts",
    "fit",
    "fit_counts",
    "load_pipeline",
    "load_spec",
    "pipeline_from_dict",
    "spec_from_dict",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tabship.features' has no attribute {name!r}")
    return getattr(import_module(f"tabship.features.{module}"), name)
