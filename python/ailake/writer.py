"""Writing tables: :class:`TableWriter` (batches in, one commit each, the
table created on the first write) and :func:`create_table` (an empty table
of a schema).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _ailake
from ._convert import _arrow_data, _with_vectors
from ._options import _policy, _storage_options
from .table import Table


class TableWriter:
    """Writes batches to the table at ``path``, creating it on the first write.

    ``vector_column``/``dim``/``metric``/``precision``/``index`` describe the
    primary vector column (a ``FixedSizeList<float32, dim>`` column of the
    data, or numpy embeddings given to the write methods). ``index`` is one
    of ``"hnsw"``, ``"ivf_pq"`` (one codebook shared by the table's files),
    ``"flat"``, ``"auto"`` (chosen from the hardware and row count) or None
    (plain Parquet, exact search). ``vector_columns`` adds more vector
    columns as dicts with the same keys. Index parameters: ``m``,
    ``ef_construction``, ``ef_search``, ``nlist``, ``nprobe``, ``pq_m``,
    ``pq_bits`` (8, or 4: fast-scan codes, 16 codewords per sub-space),
    ``min_training_rows`` (``ivf_pq``: the table's shared codebook is trained
    once this many rows are at hand, default 39 x max(nlist, 256); files
    written before are searched exactly until then),
    ``refine_factor``, ``seed``, ``pre_normalize``. Writer options:
    ``background_threads``, ``auto_optimize`` (merge small files in the
    background, as ``Table.optimize`` does; needs ``background_threads``),
    ``merge_factor``, ``min_rows_per_file``, ``max_row_group_rows``,
    ``compression``, ``num_threads``, ``storage_format``.

    ``storage_format`` picks the container of a table the writer creates:
    ``"parquet"`` (every Parquet engine reads the files; the Iceberg view is
    published) or ``"lance"`` (the Lance file format, which pylance reads;
    vector rows and takes read only the rows' bytes; no Iceberg view). None:
    the environment variable ``AILAKE_STORAGE_FORMAT``, else ``"parquet"``.
    An existing table keeps its own, and a different one given is an error.

    ``path`` is a local directory or ``s3://bucket/prefix``; ``storage_options``
    holds S3 settings with the keys LanceDB uses (``aws_access_key_id``,
    ``aws_secret_access_key``, ``aws_session_token``, ``aws_region``,
    ``aws_endpoint``, ``allow_http``) and ailake's ``connect_timeout``,
    ``request_timeout``, ``max_retries``, ``cache_bytes`` (see
    :func:`open_table`).

    To append to an existing table, ``dim`` may be omitted: the table's own
    vector columns are used.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        vector_column: str = "embedding",
        dim: Optional[int] = None,
        metric: str = "cosine",
        precision: str = "f32",
        index: Optional[str] = "hnsw",
        *,
        vector_columns: Optional[Sequence[Mapping[str, Any]]] = None,
        background_threads: int = 1,
        auto_optimize: bool = True,
        merge_factor: int = 10,
        min_rows_per_file: int = 0,
        max_row_group_rows: Optional[int] = None,
        compression: Optional[str] = None,
        num_threads: int = 0,
        storage_format: Optional[str] = None,
        storage_options: Optional[Mapping[str, Any]] = None,
        **index_params: Any,
    ) -> None:
        self.path = os.fspath(path)
        policies: List[Dict[str, Any]] = []
        if dim is not None:
            policies.append(_policy(vector_column, dim, metric, precision, index, index_params))
        for extra in vector_columns or ():
            d = dict(extra)
            d.setdefault("metric", "cosine")
            d.setdefault("precision", "f32")
            d.setdefault("index", "hnsw")
            policies.append(d)
        self._dims = {p["vector_column"]: int(p["dim"]) for p in policies}
        self._primary = policies[0]["vector_column"] if policies else vector_column
        options = dict(
            background_threads=background_threads,
            auto_optimize=auto_optimize,
            merge_factor=merge_factor,
            min_rows_per_file=min_rows_per_file,
            max_row_group_rows=max_row_group_rows,
            compression=compression,
            num_threads=num_threads,
            storage_format=storage_format,
            storage_options=_storage_options(storage_options),
        )
        self._w = _ailake.TableWriter(self.path, policies, options)

    def write_batch(self, data: Any = None, embeddings: Any = None) -> int:
        """Writes one data file with its index built inline and commits it.

        ``data``: Arrow data (pyarrow, polars, pandas) or a dict of columns;
        ``embeddings``: an optional numpy matrix for the primary vector column
        when ``data`` does not carry it. Returns the committed version (0 when
        the rows were only buffered, see ``min_rows_per_file``).
        """
        return self._write(data, embeddings, deferred=False)

    def write_batch_deferred(self, data: Any = None, embeddings: Any = None) -> int:
        """Commits the rows at once (searchable by exact scan) and builds their
        index in the background; a later commit swaps it in. See
        :meth:`wait_for_indexing`."""
        return self._write(data, embeddings, deferred=True)

    def write_batch_multi(
        self,
        data: Any = None,
        embeddings: Optional[Mapping[str, Any]] = None,
        index: Optional[Mapping[str, Optional[str]]] = None,
    ) -> int:
        """Writes rows carrying several vector columns, one index section per
        column. ``embeddings`` maps column names to numpy matrices for columns
        ``data`` does not carry; ``index`` overrides a column's index type for
        this file."""
        table = _with_vectors(data, dict(embeddings or {}), self._dims)
        columns: List[Dict[str, Any]] = []
        if index:
            t = self._w.table()
            for p in t.vector_columns():
                if p["vector_column"] in index:
                    q = dict(p)
                    q["index"] = index[p["vector_column"]]
                    columns.append(q)
        return self._w.write_multi(table, columns)

    def _write(self, data: Any, embeddings: Any, deferred: bool) -> int:
        if embeddings is not None:
            data = _with_vectors(data, {self._primary: embeddings}, self._dims)
        elif data is None:
            raise ValueError("nothing to write: no data and no embeddings")
        else:
            data = _arrow_data(data)
        return self._w.write(data, deferred)

    def commit(self) -> int:
        """Flushes buffered rows (one file, one commit); returns the version."""
        return self._w.commit()

    def wait_for_indexing(self) -> None:
        """Blocks until every background index build of this writer committed."""
        self._w.wait_for_indexing()

    @property
    def table(self) -> "Table":
        """The latest version of the table."""
        return Table(self._w.table())

    def close(self) -> None:
        """Waits for background indexing and releases the writer."""
        self._w.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.commit()
        self.close()


def create_table(
    path: Union[str, os.PathLike],
    schema: pa.Schema,
    vector_column: str = "embedding",
    dim: Optional[int] = None,
    metric: str = "cosine",
    precision: str = "f32",
    index: Optional[str] = "hnsw",
    *,
    storage_format: Optional[str] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
    **index_params: Any,
) -> Table:
    """Creates an empty table with ``schema`` (or opens it if it exists with
    the same columns) and returns it. ``vector_column`` must be a
    ``FixedSizeList<float32, dim>`` field of ``schema``; ``dim`` defaults to
    its list size. The other parameters are :class:`TableWriter`'s."""
    if dim is None:
        field = schema.field(vector_column)
        if not pa.types.is_fixed_size_list(field.type):
            raise TypeError(
                f"vector column {vector_column!r} is {field.type}, expected fixed_size_list<float>"
            )
        dim = field.type.list_size
    w = TableWriter(path, vector_column, dim, metric, precision, index, background_threads=0,
                    storage_format=storage_format, storage_options=storage_options,
                    **index_params)
    w._w.ensure_table(schema.empty_table())
    t = w.table
    w.close()
    return t
