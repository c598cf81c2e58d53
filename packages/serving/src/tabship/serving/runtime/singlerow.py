"""One row's probability through LightGBM's single-row C API, set up once per loaded model.

`Booster.predict` spends about 100 us of Python on one row, on every call: it makes a predictor
object, parses its parameters, checks and copies the matrix. That was the largest part of a
/predict_one request (py-spy, under `nox -s bench_serve`'s load). LightGBM's C API has a path for
exactly this case, `LGBM_BoosterPredictForMatSingleRowFast`, with the parameters parsed once into
a "fast config": the same model and the same prediction code, for a few microseconds. A test
holds it equal to `Booster.predict`, bit for bit, on holdout rows.

It reaches the C library through `lightgbm.basic` (the library the package loaded; lightgbm is
pinned in uv.lock): if that ever fails to set up, the scorer keeps `Booster.predict`.
"""

from __future__ import annotations

import ctypes
import threading
import weakref

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from lightgbm.basic import _LIB, _safe_call  # type: ignore[attr-defined]  # lightgbm's own

PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities, as Booster.predict gives
DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRow:
    """BOOSTER's prediction for one row of NUM_FEATURES float64 values. One call at a time: the
    fast config holds the row's buffers (a lock: the bulk routes run in BentoML's threads)."""

    def __init__(self, booster: lgb.Booster, num_features: int) -> None:
        self._booster = booster  # the config points into the booster: keep it alive as long
        self._lock = threading.Lock()
        handle = ctypes.c_void_p()
        # The iterations Booster.predict uses by default: the best one when the model has one.
        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(iterations),
                ctypes.c_int(DTYPE_FLOAT64),
                ctypes.c_int32(num_features),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(handle),
            )
        )
        self._handle = handle
        # The row's buffer, the answer's and their C pointers, made once: converting arguments
        # on each call cost more than the prediction.
        self._row = np.empty(num_features, dtype=np.float64)
        self._out = np.empty(1, dtype=np.float64)
        self._length = ctypes.c_int64(0)
        self._arguments = (
            handle,
            self._row.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(self._length),
            self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
        self._call = _LIB.LGBM_BoosterPredictForMatSingleRowFast
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, handle)

    def __call__(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The probability for ROW (float64 values, one per feature), as a one-element array."""
        with self._lock:
            self._row[:] = row
            _safe_call(self._call(*self._arguments))
            return self._out.copy()


def single_row(booster: lgb.Booster, num_features: int) -> SingleRow | None:
    """A SingleRow for BOOSTER, or None when LightGBM's C API refuses it (Booster.predict then)."""
    try:
        return SingleRow(booster, num_features)
    except (AttributeError, lgb.basic.LightGBMError, OSError):
        return None
