"""Values crossing into and out of the extension module ``_ailake``.

Out: the extension returns Arrow C stream capsules, read here into pyarrow
tables and schemas. In: user data becomes an object with the Arrow PyCapsule
interface, and numpy matrices become C-contiguous float32 (used in place, no
copy when already so) and ``FixedSizeList<float32, dim>`` columns. Shaping of
whole user datasets (lists of dicts, DataFrames, iterators) is :mod:`ailake.data`'s.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import pyarrow as pa


class _Stream:
    """Holds an ``arrow_array_stream`` capsule for pyarrow to import."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        capsule, self._capsule = self._capsule, None
        if capsule is None:
            raise RuntimeError("the Arrow stream was already consumed")
        return capsule


def _to_table(capsule: Any) -> pa.Table:
    return pa.RecordBatchReader.from_stream(_Stream(capsule)).read_all()


def _schema(capsule: Any) -> pa.Schema:
    return pa.RecordBatchReader.from_stream(_Stream(capsule)).schema


def _as_vectors(values: Any, dim: Optional[int] = None) -> np.ndarray:
    """A C-contiguous float32 matrix (no copy when ``values`` already is one)."""
    a = np.asarray(values)
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    if a.ndim == 1 and dim is not None and a.size % dim == 0:
        a = a.reshape(-1, dim)
    if a.ndim != 2:
        raise ValueError(f"vectors must be a 2-D matrix (rows x dim), got shape {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"vectors have {a.shape[1]} columns, expected dim {dim}")
    return np.ascontiguousarray(a)


def _as_query(query: Any) -> np.ndarray:
    q = np.ascontiguousarray(np.asarray(query, dtype=np.float32))
    if q.ndim == 2 and q.shape[0] == 1:
        q = q[0]
    if q.ndim != 1:
        raise ValueError(f"query must be one vector, got shape {q.shape}")
    return q


def _vector_array(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """A FixedSizeList<float32, dim> column over the matrix's memory (no copy)."""
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])


def _arrow_data(data: Any) -> Any:
    """An object the extension can import (Arrow PyCapsule interface)."""
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return data
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    raise TypeError(
        "data must implement the Arrow PyCapsule interface (pyarrow Table/RecordBatch, "
        f"polars or pandas DataFrame) or be a dict of columns, got {type(data).__name__}"
    )


def _with_vectors(data: Any, columns: Mapping[str, Any], dims: Mapping[str, int]) -> Any:
    """``data`` plus FixedSizeList columns made from numpy matrices."""
    if data is None:
        table = None
    else:
        data = _arrow_data(data)
        table = pa.table(data) if not isinstance(data, (pa.Table, pa.RecordBatch)) else data
    for name, values in columns.items():
        if values is None:
            continue
        arr = _vector_array(_as_vectors(values, dims.get(name)))
        if table is None:
            table = pa.table({name: arr})
        elif name in table.schema.names:
            raise ValueError(f"column '{name}' is given both in data and as embeddings")
        else:
            table = table.append_column(name, arr)
    if table is None:
        raise ValueError("nothing to write: no data and no embeddings")
    return table
