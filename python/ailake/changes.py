"""Changing rows in place: ``Table.update`` and ``Table.merge_insert``.

Both run in C++ (``include/ailake/changes.h``, shared with the CLI's
``ailake update`` and ``ailake merge``): they read the rows they change, write
the new rows as staged files (indexed as they are written) and commit the old
rows' deletion and the new rows' files as one version, so a reader sees the
table before or after, never half of it. If another writer changed those rows
first, the whole operation runs again on the newest version after a random
wait (at most ``_ATTEMPTS`` times). This module shapes Python values for it.
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Union

import numpy as np
import pyarrow as pa

from . import data as _data

_ATTEMPTS = 32


def update(table: Any, where: Optional[str] = None,
           values: Optional[Mapping[str, Any]] = None, *,
           values_sql: Optional[Mapping[str, str]] = None,
           params: Optional[Sequence[Any]] = None) -> int:
    """See :meth:`ailake.Table.update`."""
    from .query import bind

    values = dict(values or {})
    values_sql = dict(values_sql or {})
    if not values and not values_sql:
        raise ValueError("update needs values={column: value} or values_sql={column: sql}")
    both = set(values) & set(values_sql)
    if both:
        raise ValueError(f"columns {sorted(both)} are given in both values and values_sql")
    names = table.schema.names
    unknown = [c for c in list(values) + list(values_sql) if c not in names]
    if unknown:
        raise ValueError(f"update: no column {unknown[0]!r}; columns: {names}")
    if params is not None:
        if where is None:
            raise ValueError("params bind ? placeholders of where; there is no where")
        where = bind(where, list(params))
    vector_cols = {c["vector_column"]: c["dim"] for c in table.vector_columns}
    one_row = None
    if values:
        arrays = []
        for name, v in values.items():
            if name in vector_cols:
                arr = np.asarray(v, dtype=np.float32).reshape(1, -1)
                if arr.shape[1] != vector_cols[name]:
                    raise ValueError(f"update: vector column '{name}' takes {vector_cols[name]} "
                                     f"values, got {arr.shape[1]}")
                arrays.append(pa.FixedSizeListArray.from_arrays(
                    pa.array(arr.ravel(), pa.float32()), vector_cols[name]))
            else:
                try:
                    arrays.append(pa.array([v]))
                except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                    raise TypeError(f"update of '{name}': {v!r} is not a value Arrow can "
                                    f"hold: {e}") from None
        one_row = pa.table(arrays, names=list(values))
    return table._t.update(where, [(k, str(v)) for k, v in values_sql.items()], one_row,
                           _ATTEMPTS)


class MergeInsert:
    """An upsert being put together: ``t.merge_insert("id")`` then
    ``.when_matched_update_all()``, ``.when_not_matched_insert_all()``,
    ``.when_not_matched_by_source_delete(where=None)`` and ``.execute(data)``,
    as LanceDB users write it. Rows match when every ``on`` column is equal
    (nulls never match)."""

    def __init__(self, table: Any, on: Union[str, Sequence[str]]) -> None:
        self._table = table
        self._on: List[str] = [on] if isinstance(on, str) else [str(c) for c in on]
        if not self._on:
            raise ValueError("merge_insert needs at least one key column")
        missing = [c for c in self._on if c not in table.schema.names]
        if missing:
            raise ValueError(f"merge_insert: no column {missing[0]!r}; columns: "
                             f"{table.schema.names}")
        self._update = False
        self._insert = False
        self._delete = False
        self._delete_where: Optional[str] = None

    def when_matched_update_all(self) -> "MergeInsert":
        """A source row whose key matches replaces the table's row(s)."""
        self._update = True
        return self

    def when_not_matched_insert_all(self) -> "MergeInsert":
        """A source row whose key matches nothing is added."""
        self._insert = True
        return self

    def when_not_matched_by_source_delete(self, where: Optional[str] = None) -> "MergeInsert":
        """A table row (matching ``where``, if given) whose key is not in the
        source is deleted."""
        self._delete = True
        self._delete_where = where
        return self

    def execute(self, data: Any) -> "MergeResult":
        """Applies the merge in one version; returns the rows inserted,
        updated and deleted. A key repeated in the source is an error naming
        it."""
        if not (self._update or self._insert or self._delete):
            raise ValueError("merge_insert does nothing: call when_matched_update_all, "
                             "when_not_matched_insert_all or when_not_matched_by_source_delete")
        t = self._table
        cols = t.vector_columns
        name = cols[0]["vector_column"] if cols else None
        dim = cols[0]["dim"] if cols else None
        if not (self._update or self._insert):  # keys only: rows are deleted, none written
            name = dim = None
        chunks = list(_data.prepare(data, name, dim))
        source = pa.concat_tables(chunks, promote_options="default") if chunks else None
        if source is not None and source.num_rows == 0:
            source = None
        r = t._t.merge_insert(source, self._on, self._update, self._insert, self._delete,
                              self._delete_where, _ATTEMPTS)
        from .results import MergeResult

        return MergeResult._from(r)
