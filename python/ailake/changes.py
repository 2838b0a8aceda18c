"""Changing rows in place: ``Table.update`` and ``Table.merge_insert``.

Both read the rows they change, write the new rows as staged files (indexed
as they are written) and commit with ``commit_replace``: the old rows'
deletion and the new rows' files are one version, so a reader sees the table
before or after, never half of it. If another writer changed those rows
first, the commit is refused and the whole operation runs again on the
newest version, after a random wait (at most ``_ATTEMPTS`` times).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _ailake
from . import data as _data

_ATTEMPTS = 32
_CONFLICT = "commit conflict: "


def _retry(table: Any, attempt_fn: Any) -> Any:
    """Runs attempt_fn until it commits; after a conflict, waits a random
    time growing with each try (1 ms to 0.2 s) so racing writers spread out,
    and runs it again on the newest version."""
    import random
    import time

    for i in range(_ATTEMPTS):
        try:
            return attempt_fn()
        except ValueError as e:
            if not str(e).startswith(_CONFLICT) or i == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, min(0.2, 0.001 * 2 ** i)))
            table.refresh()
    raise AssertionError("unreachable")


def _cast_like(values: pa.Array, field: pa.Field, what: str) -> pa.Array:
    try:
        return pc.cast(values, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise TypeError(f"{what}: {values.type} does not fit column '{field.name}' "
                        f"({field.type}): {e}") from None


def update(table: Any, where: Optional[str] = None,
           values: Optional[Mapping[str, Any]] = None, *,
           values_sql: Optional[Mapping[str, str]] = None,
           params: Optional[Sequence[Any]] = None) -> int:
    """See :meth:`ailake.Table.update`."""
    from . import _to_table
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

    def attempt() -> int:
        rows = table.scan(filter=where, with_row_id=True)
        if rows.num_rows == 0:
            return 0
        ids = rows["_rowid"].to_numpy()
        new = rows.drop(["_rowid"])
        schema = table.schema
        for name, v in values.items():
            field = schema.field(name)
            if name in vector_cols:
                arr = np.asarray(v, dtype=np.float32).reshape(1, -1)
                if arr.shape[1] != vector_cols[name]:
                    raise ValueError(f"update: vector column '{name}' takes {vector_cols[name]} "
                                     f"values, got {arr.shape[1]}")
                flat = pa.array(np.tile(arr, (rows.num_rows, 1)).ravel(), pa.float32())
                col = pa.FixedSizeListArray.from_arrays(flat, vector_cols[name])
                col = _cast_like(col, field, f"update of '{name}'")
            else:
                col = _cast_like(pa.array([v] * rows.num_rows), field, f"update of '{name}'")
            new = new.set_column(new.schema.get_field_index(name), field, col)
        for name, sql in values_sql.items():
            field = schema.field(name)
            col = _to_table(_ailake.evaluate_sql(str(sql), rows.drop(["_rowid"]))).column(0)
            new = new.set_column(new.schema.get_field_index(name), field,
                                 _cast_like(col, field, f"update of '{name}' = {sql}"))
        staged = [table.stage_write(new)]
        table._t.commit_replace(np.ascontiguousarray(ids, dtype=np.uint64), staged, "update")
        return rows.num_rows

    n = _retry(table, attempt)
    table.refresh()
    return n


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

    def execute(self, data: Any) -> Dict[str, int]:
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
        if source is None or source.num_rows == 0:
            source = None
        if source is not None:
            missing = [c for c in self._on if c not in source.schema.names]
            if missing:
                raise ValueError(f"merge_insert: the source has no key column {missing[0]!r}")
            keys = source.select(self._on)
            counts = keys.group_by(self._on).aggregate([([], "count_all")])
            dup = counts.filter(pc.greater(counts["count_all"], 1))
            if dup.num_rows:
                row = {c: dup[c][0].as_py() for c in self._on}
                raise ValueError(f"merge_insert: key {row} appears {dup['count_all'][0].as_py()} "
                                 "times in the source; each key may appear once")

        def attempt() -> Dict[str, int]:
            existing = t.scan(columns=self._on, with_row_id=True)
            doomed: List[np.ndarray] = []
            insert_parts: List[pa.Table] = []
            updated = inserted = deleted = 0
            if source is not None:
                src = source.append_column("__src_row", pa.array(np.arange(source.num_rows)))
                joined = src.select(self._on + ["__src_row"]).join(
                    existing, keys=self._on, join_type="left outer")
                matched = joined.filter(pc.is_valid(joined["_rowid"]))
                matched_src = np.unique(matched["__src_row"].to_numpy())
                unmatched = np.setdiff1d(np.arange(source.num_rows), matched_src)
                if self._update and len(matched_src):
                    doomed.append(matched["_rowid"].to_numpy().astype(np.uint64))
                    insert_parts.append(source.take(matched_src))
                    updated = len(matched_src)
                if self._insert and len(unmatched):
                    insert_parts.append(source.take(unmatched))
                    inserted = len(unmatched)
            if self._delete:
                cand = existing if self._delete_where is None else t.scan(
                    columns=self._on, filter=self._delete_where, with_row_id=True)
                if source is not None:
                    gone = cand.join(source.select(self._on), keys=self._on, join_type="left anti")
                else:
                    gone = cand
                if gone.num_rows:
                    doomed.append(gone["_rowid"].to_numpy().astype(np.uint64))
                    deleted = gone.num_rows
            ids = np.unique(np.concatenate(doomed)) if doomed else np.zeros(0, np.uint64)
            staged = [t.stage_write(p) for p in insert_parts if p.num_rows]
            if len(ids) or staged:
                t._t.commit_replace(np.ascontiguousarray(ids, dtype=np.uint64), staged, "merge")
            return {"num_inserted_rows": inserted, "num_updated_rows": updated,
                    "num_deleted_rows": deleted}

        out = _retry(t, attempt)
        t.refresh()
        return out
