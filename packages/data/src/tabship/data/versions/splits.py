"""Stable row identities and the train/holdout split derived from them.

A row's identity is a 64-bit hash of its key columns (or of all its values when the dataset has no
key). The hash is defined here, not borrowed from polars, whose `hash` may change between
releases: a row must keep its split in every future version, or holdout rows would leak into
training when new data arrives.

The split is a threshold on the hash: a row is holdout when its hash, read as a number in [0, 1),
is below the holdout fraction. That decision looks at no other row, so appending rows never moves an
existing one. It is stratified in expectation: the hash is independent of the label, so each class
gets the holdout fraction up to sampling noise (the report prints the per-class fractions). An
exactly stratified split would have to rank rows within a class and would move rows when data is
appended, which is the leak this design prevents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

U64 = npt.NDArray[np.uint64]

_NULL = np.uint64(0x6A09E667F3BCC908)  # fixed constants (SHA-512 IVs), any odd values would do
_TAG_INT = np.uint64(0xBB67AE8584CAA73B)
_TAG_FLOAT = np.uint64(0x3C6EF372FE94F82B)
_SEED = np.uint64(0xA54FF53A5F1D36F1)
_SPLIT_SALT = np.uint64(0x510E527FADE682D1)
_PERSON = b"tabship-row-v1"  # blake2b personalisation: changing it changes every split
# The source role of appended rows (labelled production data): split by hash whatever the method.
FEEDBACK = "feedback"


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: a bijection of uint64 with good avalanche, in pure numpy."""
    return _mix_into(x.astype(np.uint64, copy=True))


def _mix_into(z: U64) -> U64:
    """`_mix` computed in place in Z (and returned): no temporary array per step, which halves
    the time row hashing takes on wide frames."""
    shifted = np.empty_like(z)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        np.right_shift(z, np.uint64(30), out=shifted)
        z ^= shifted
        z *= np.uint64(0xBF58476D1CE4E5B9)
        np.right_shift(z, np.uint64(27), out=shifted)
        z ^= shifted
        z *= np.uint64(0x94D049BB133111EB)
        np.right_shift(z, np.uint64(31), out=shifted)
        z ^= shifted
    return z


def _text_hash(value: str) -> int:
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "little")


def value_hashes(values: pl.Series) -> U64:
    """One uint64 per value; equal values (and all nulls) hash equal, independent of position."""
    dtype = values.dtype
    if dtype.is_integer() or dtype == pl.Boolean:
        wide = pl.UInt64 if dtype.is_unsigned_integer() else pl.Int64
        bits = values.cast(wide).fill_null(0).to_numpy().view(np.uint64) ^ _TAG_INT
        hashed = _mix_into(bits)
    elif dtype.is_float():
        # -0.0 and 0.0 are equal values, and every NaN is the same missing measurement.
        floats = values.cast(pl.Float64).fill_null(0.0).to_numpy()
        canonical = np.where(floats == 0.0, 0.0, np.where(np.isnan(floats), np.nan, floats))
        hashed = _mix_into(canonical.astype(np.float64).view(np.uint64) ^ _TAG_FLOAT)
    elif isinstance(dtype, pl.Enum):
        # Hash each category's text once and pick by code: the same hash as for plain text.
        categories = dtype.categories
        table = np.array([_text_hash(v) for v in categories.to_list()], dtype=np.uint64)
        positions = values.to_physical().fill_null(0).to_numpy()
        hashed = table[positions] if len(table) else np.zeros(len(values), dtype=np.uint64)
    else:
        # Hash each distinct text once: categorical columns have few, so this stays vectorised.
        text = values.cast(pl.String)
        distinct = text.drop_nulls().unique()
        digests = pl.Series([_text_hash(v) for v in distinct.to_list()], dtype=pl.UInt64)
        hashed = (
            text.replace_strict(distinct, digests, default=0, return_dtype=pl.UInt64)
            .to_numpy()
            .astype(np.uint64)
        )
    if values.null_count():
        hashed = np.where(values.is_null().to_numpy(), _NULL, hashed).astype(np.uint64)
    return hashed


def row_hashes(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """The stable 64-bit identity of each row of FRAME, over COLUMNS in the given order."""
    state = np.full(frame.height, _SEED, dtype=np.uint64)
    for name in columns:
        state ^= value_hashes(frame[name])
        _mix_into(state)
    return pl.Series("row_id", state, dtype=pl.UInt64)


def row_fraction(hashes: npt.ArrayLike, salt: int = int(_SPLIT_SALT)) -> npt.NDArray[np.float64]:
    """Each row hash as a number in [0, 1), mixed with SALT: a per-row draw that looks at no other
    row. The split uses the default salt; another salt gives an independent draw (the Dask
    engine's CV folds and its profile sample), so no shuffle is needed for either."""
    mixed = _mix(np.asarray(hashes).astype(np.uint64) ^ np.uint64(salt))
    # The top 53 bits as a float in [0, 1): exact, and uniform because _mix avalanches.
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def holdout_mask(hashes: pl.Series, fraction: float) -> pl.Series:
    """True where a row with hash HASHES belongs to the holdout at FRACTION."""
    return pl.Series("holdout", row_fraction(hashes.to_numpy()) < fraction)


def assign_splits(hashes: pl.Series, fraction: float) -> pl.Series:
    """`holdout` or `train` for each row hash."""
    mask = holdout_mask(hashes, fraction)
    return pl.select(
        pl.when(mask).then(pl.lit("holdout")).otherwise(pl.lit("train")).alias("split")
    ).to_series()
