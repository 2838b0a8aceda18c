"""Data in the shapes users hand over, made Arrow tables ailake writes.

Accepted: a pyarrow Table, RecordBatch or RecordBatchReader, a pandas or
polars DataFrame, a list of dicts (rows), a dict of columns, anything with
the Arrow PyCapsule interface, or an iterator of any of these (written batch
by batch). A vector column may arrive as a fixed-size list, list or large
list of float16/32/64 (or of integers), or as a numpy object column of
arrays; it is converted to ``fixed_size_list<float32, dim>`` with ``dim``
inferred from the data, and a row of another length is an error naming the
first such row.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Names a vector column gets when none is named (LanceDB's and ours).
VECTOR_NAMES = ("vector", "embedding")


def _is_vector_type(t: pa.DataType) -> bool:
    if not (pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t)):
        return False
    v = t.value_type
    return pa.types.is_floating(v) or pa.types.is_integer(v)


def _table_of_one(data: Any) -> pa.Table:
    """One chunk of data as a table (vector columns not converted yet)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if mod == "polars":
        return data.to_arrow()
    if isinstance(data, dict):
        return pa.table(data)
    if isinstance(data, list):
        if data and not all(isinstance(r, dict) for r in data):
            bad = next(i for i, r in enumerate(data) if not isinstance(r, dict))
            raise TypeError(f"a list of rows must hold dicts; item {bad} is "
                            f"{type(data[bad]).__name__}")
        return pa.Table.from_pylist(data)
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return pa.table(data)
    raise TypeError(
        "data must be a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or polars "
        "DataFrame, a list of dicts, a dict of columns, an Arrow PyCapsule object, or an "
        f"iterator of these; got {type(data).__name__}")


def chunks(data: Any) -> Iterator[pa.Table]:
    """The data as tables, one per batch the caller handed over."""
    if isinstance(data, pa.RecordBatchReader):
        for b in data:
            yield pa.Table.from_batches([b])
        return
    one = (pa.Table, pa.RecordBatch, dict, list)
    if isinstance(data, one) or type(data).__module__.split(".")[0] in ("pandas", "polars") or \
            hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        yield _table_of_one(data)
        return
    if hasattr(data, "__iter__") and not isinstance(data, (str, bytes)):
        for item in data:
            yield _table_of_one(item)
        return
    yield _table_of_one(data)


def find_vector_column(schema: pa.Schema, named: Optional[str] = None) -> Optional[str]:
    """The vector column: ``named`` if given (it must exist), else one called
    vector or embedding, else the only list-of-numbers column; None if the
    data has none. Several candidates without a name is an error."""
    if named:
        if named not in schema.names:
            raise ValueError(f"vector column '{named}' is not in the data; columns: "
                             f"{schema.names}")
        return named
    for n in VECTOR_NAMES:
        if n in schema.names and (_is_vector_type(schema.field(n).type) or
                                  schema.field(n).type == pa.list_(pa.null())):
            return n
    cands = [f.name for f in schema if _is_vector_type(f.type)]
    if len(cands) > 1:
        raise ValueError(f"several columns could be the vector column ({cands}); name one "
                         "with vector_column=")
    return cands[0] if cands else None


def vectors_to_fixed(table: pa.Table, name: str, dim: Optional[int] = None) -> pa.Table:
    """``table`` with column ``name`` as fixed_size_list<float32, dim>.
    ``dim`` None: the length of its first non-null row. A row of another
    length, a null row or a null item is an error naming the first one."""
    i = table.schema.get_field_index(name)
    col = table.column(i)
    t = col.type
    if pa.types.is_fixed_size_list(t) and pa.types.is_float32(t.value_type) and \
            (dim is None or t.list_size == dim) and col.null_count == 0:
        return table
    if not _is_vector_type(t):
        raise TypeError(f"vector column '{name}' is {t}; expected a list or fixed-size list of "
                        "numbers (or a numpy column of arrays)")
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if arr.null_count:
        bad = pc.index(pc.is_null(arr), True).as_py()
        raise ValueError(f"vector column '{name}' row {bad} is null; every row needs a vector")
    if pa.types.is_fixed_size_list(t):
        lengths = np.full(len(arr), t.list_size, dtype=np.int64)
        values = arr.flatten()
    else:
        lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
        values = arr.flatten()
    if dim is None:
        if len(lengths) == 0:
            raise ValueError(f"vector column '{name}' has no rows to infer its dimension "
                             "from; give dim=")
        dim = int(lengths[0])
    if dim <= 0:
        raise ValueError(f"vector column '{name}' row 0 is empty; vectors need a dimension")
    off = np.nonzero(lengths != dim)[0]
    if len(off):
        r = int(off[0])
        raise ValueError(f"vector column '{name}' row {r} has {int(lengths[r])} values, "
                         f"expected {dim} (the first row's)")
    if values.null_count:
        item = pc.index(pc.is_null(values), True).as_py()
        raise ValueError(f"vector column '{name}' row {item // dim} has a null item")
    fixed = pa.FixedSizeListArray.from_arrays(pc.cast(values, pa.float32()), dim)
    field = pa.field(name, fixed.type, nullable=table.schema.field(i).nullable,
                     metadata=table.schema.field(i).metadata)
    return table.set_column(i, field, fixed)


def prepare(data: Any, vector_column: Optional[str] = None, dim: Optional[int] = None,
            schema: Optional[pa.Schema] = None) -> Iterator[pa.Table]:
    """The data as tables, lazily, with the vector column converted (every
    chunk to the first's dim) and cast to ``schema`` when given."""
    name = vector_column
    first = True
    for t in chunks(data):
        if name is None and first:
            name = find_vector_column(t.schema, None)
        elif name is not None and name not in t.schema.names:
            raise ValueError(f"vector column '{name}' is missing from a batch with columns "
                             f"{t.schema.names}")
        if name is not None:
            t = vectors_to_fixed(t, name, dim)
            dim = t.schema.field(name).type.list_size
        if schema is not None:
            t = t.select(schema.names).cast(schema) if set(schema.names) <= set(t.schema.names) \
                else t.cast(schema)
        first = False
        yield t
