"""The API of tabship.features: the one list of its public names.

Type checkers read it, and `lazy_loader.attach_stub` in __init__.py reads it to load each
name's module on first use (PEP 562). Add a public name here, and nowhere else.
"""

__version__: str
__all__: list[str]

from .pipeline import (
    FittedPipeline as FittedPipeline,
)
from .pipeline import (
    PipelineFileError as PipelineFileError,
)
from .pipeline import (
    Transformed as Transformed,
)
from .pipeline import (
    UnseenCategoryError as UnseenCategoryError,
)
from .pipeline import (
    add_counts as add_counts,
)
from .pipeline import (
    category_counts as category_counts,
)
from .pipeline import (
    fit as fit,
)
from .pipeline import (
    fit_counts as fit_counts,
)
from .pipeline import (
    load_pipeline as load_pipeline,
)
from .pipeline import (
    pipeline_from_dict as pipeline_from_dict,
)
from .spec import (
    FeatureSpec as FeatureSpec,
)
from .spec import (
    SpecError as SpecError,
)
from .spec import (
    load_spec as load_spec,
)
from .spec import (
    spec_from_dict as spec_from_dict,
)
