"""Single data files: :class:`File` (one AI-Lake or plain Parquet file, or
one in the Lance container, read on its own) with :func:`open_file`, and
files of the Lance columnar format: :func:`write_lance_file`,
:func:`read_lance_file`.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pyarrow as pa

from . import _ailake
from ._convert import _arrow_data, _as_query, _schema, _to_table
from ._options import _check_search_params


class File:
    """One AI-Lake file (or plain Parquet file) opened for reading."""

    def __init__(self, handle: Any, path: str) -> None:
        self._f = handle
        self.path = path

    def is_ailake_file(self) -> bool:
        """True when the footer points at an AILK index section."""
        return self._f.is_ailake_file()

    @property
    def num_rows(self) -> int:
        return self._f.num_rows

    @property
    def num_row_groups(self) -> int:
        """Parquet row groups (0 for a file in the Lance container)."""
        return self._f.num_row_groups

    @property
    def format(self) -> str:
        """The file's container: ``"parquet"`` or ``"lance"`` (docs/FORMAT.md 5.5)."""
        return str(self._f.format())

    @property
    def file_size(self) -> int:
        return self._f.file_size

    @property
    def schema(self) -> pa.Schema:
        return _schema(self._f.schema_stream())

    @property
    def vector_columns(self) -> List[Dict[str, Any]]:
        return self._f.vector_columns()

    def search(
        self,
        query: Any,
        k: int = 10,
        columns: Optional[Sequence[str]] = None,
        *,
        filter: Optional[str] = None,
        vector_column: str = "",
        allowed: Any = None,
        exact: bool = False,
        **index_params: Any,
    ) -> pa.Table:
        """The k nearest rows of this file: ``columns`` (default all but vector
        columns) plus ``_rowid`` (the row's position in the file) and
        ``_distance``, as :meth:`Table.search` names them. ``filter``: a
        predicate over the file's columns (the language of
        :meth:`Table.search`), applied inside the index search; ``allowed``:
        an optional boolean mask of the rows that may be returned (both
        given: a row must pass both); ``exact``: scan the stored vectors
        instead of the index. (The position is also in ``_row``, its name in
        earlier releases, which is deprecated and will be removed.)"""
        _check_search_params(index_params)
        mask = None if allowed is None else np.ascontiguousarray(np.asarray(allowed, dtype=bool))
        if columns is not None and len(columns) == 0 and filter is None and not exact:
            # No column asked for: nothing to read (SearchOptions.columns
            # empty means "the default columns" in C++).
            rows, dist = self.search_rows(query, k, vector_column=vector_column, allowed=allowed,
                                          **index_params)
            return pa.table({"_rowid": pa.array(rows, type=pa.uint64()),
                             "_distance": pa.array(dist, type=pa.float32()),
                             "_row": pa.array(rows.astype(np.int64), type=pa.int64())})
        out = _to_table(self._f.search(
            _as_query(query),
            int(k),
            vector_column,
            None if columns is None else [str(c) for c in columns],
            filter,
            bool(exact),
            int(index_params.get("ef", 0)),
            int(index_params.get("nprobe", 0)),
            int(index_params.get("refine_factor", 0)),
            mask,
        ))
        if columns is not None and len(columns) == 0:
            out = out.select(["_rowid", "_distance"])
        return out.append_column("_row", out["_rowid"].cast(pa.int64()))

    def search_rows(self, query: Any, k: int = 10, *, vector_column: str = "", allowed: Any = None,
                    **index_params: Any) -> "tuple[np.ndarray, np.ndarray]":
        """(row ids, distances) as numpy arrays: ids first, as everywhere.
        Reads no column: the cheapest form of :meth:`search`."""
        _check_search_params(index_params)
        mask = None if allowed is None else np.ascontiguousarray(np.asarray(allowed, dtype=bool))
        rows, dist = self._f.search_rows(
            _as_query(query),
            int(k),
            vector_column,
            int(index_params.get("ef", 0)),
            int(index_params.get("nprobe", 0)),
            int(index_params.get("refine_factor", 0)),
            mask,
        )
        return rows.astype(np.uint64), dist

    def read(
        self, columns: Optional[Sequence[str]] = None, row_start: int = 0, row_end: int = -1
    ) -> pa.Table:
        """Columns and a row range [row_start, row_end) (row_end < 0 = to the end)."""
        return _to_table(
            self._f.read(list(columns) if columns is not None else None, row_start, row_end)
        )

    def take(self, rows: Any, columns: Optional[Sequence[str]] = None) -> pa.Table:
        """Rows by position, in the order given, reading only their pages."""
        r = np.ascontiguousarray(np.asarray(rows, dtype=np.int64))
        return _to_table(self._f.take(r, list(columns) if columns is not None else None))

    def centroid(self, vector_column: str = "") -> "tuple[np.ndarray, float]":
        """(centroid, radius) of a vector column, from its index section."""
        return self._f.centroid(vector_column)

    def verify(self) -> None:
        """Raises if row counts, sections or vector widths disagree."""
        self._f.verify()


def open_file(
    path: Union[str, os.PathLike],
    memory_map: bool = True,
    codebooks: Optional[Sequence[Union[str, os.PathLike]]] = None,
) -> File:
    """Opens one AI-Lake (or plain Parquet) file.

    ``codebooks``: paths of shared IVF-PQ codebook files that the file's
    IVF-PQ sections may be encoded with. A table's IVF-PQ files name the
    table's codebook instead of embedding one; when ``codebooks`` is None and
    the file sits in a table's ``data/`` folder, the table's
    ``_indexes/*.codebook`` files are used."""
    p = os.fspath(path)
    if codebooks is None:
        idx = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(p))), "_indexes")
        if os.path.basename(os.path.dirname(os.path.abspath(p))) == "data" and os.path.isdir(idx):
            codebooks = sorted(os.path.join(idx, n) for n in os.listdir(idx) if n.endswith(".codebook"))
    cbs = [os.fspath(c) for c in (codebooks or [])]
    return File(_ailake.File.open(p, memory_map, cbs), p)


def write_lance_file(
    path: Union[str, os.PathLike],
    data: Any,
    *,
    version: str = "2.0",
    max_page_bytes: int = 8 << 20,
) -> None:
    """Writes ``data`` (Arrow data or a dict of columns) as one file in the
    Lance columnar file format, which pylance's ``lance.file.LanceFileReader``
    reads (docs/FORMAT.md 5). ``version`` "2.0" (plain pages), "2.1" or "2.2"
    (what pylance writes by default: repetition/definition levels, null
    structs, compression chosen per page: bit packing, run lengths,
    dictionaries, FSST, LZ4). Pages of each column are cut at
    ``max_page_bytes`` and encoded in parallel. A struct field whose metadata
    sets ``packed`` to ``"true"`` is stored packed: one column of whole rows,
    so a row is one read (docs/FORMAT.md 5.3)."""
    _ailake.write_lance_file(os.fspath(path), _arrow_data(data), version, int(max_page_bytes))


def read_lance_file(
    path: Union[str, os.PathLike],
    columns: Optional[Sequence[str]] = None,
    *,
    rows: Optional[Sequence[int]] = None,
    offset: int = 0,
    length: int = -1,
) -> pa.Table:
    """Reads a Lance file of version 2.0, 2.1 or 2.2 (ailake's or Lance's own): the
    ``columns`` given (all by default), and either the rows numbered ``rows``
    (in that order; only the pages holding them are read) or rows
    ``[offset, offset + length)`` (``length`` < 0: to the end). An encoding or
    file version ailake cannot read yet is an error naming it."""
    cols = None if columns is None else [str(c) for c in columns]
    rws = None if rows is None else [int(r) for r in rows]
    return _to_table(_ailake.read_lance_file(os.fspath(path), cols, rws, int(offset), int(length)))
