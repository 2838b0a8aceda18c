"""Plain Apache Iceberg tables that another engine wrote: :func:`open_iceberg`
reads one as a read-only :class:`~ailake.table.Table`, :func:`import_iceberg`
makes an indexed ailake table of it. (The Iceberg view every ailake table
publishes of itself is :meth:`Table.iceberg_view`'s.)
"""
from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Sequence, Union

from . import _ailake
from ._options import _metric, _storage_options
from .table import Table


def _iceberg_vectors(vector_column: Any, metric: Optional[str], where: str) -> List[Any]:
    if vector_column is None:
        return []
    cols = [vector_column] if isinstance(vector_column, str) else list(vector_column)
    m = _metric(metric, where)
    return [(c, m) for c in cols]


def open_iceberg(
    path: Union[str, os.PathLike],
    version: Optional[int] = None,
    *,
    vector_column: Union[None, str, Sequence[str]] = None,
    metric: Optional[str] = None,
    metadata_file: str = "",
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Table:
    """Opens a plain Apache Iceberg table (format 1 or 2, unpartitioned,
    Parquet data files, position deletes) that another engine wrote, read
    only. ``path`` is the table directory or one of its
    ``metadata/*.metadata.json`` files (default: the newest). Its snapshots
    are versions 1..N in order (``versions()`` names each snapshot id).
    ``vector_column`` names ``fixed[4·dim]`` columns of little-endian f32
    vectors, searched by exact scan with ``metric``; without it, the columns
    an ailake view documents as vectors. Changes are refused:
    ``import_iceberg`` makes an ailake table of it."""
    return Table(_ailake.Table.open_iceberg(
        os.fspath(path), _iceberg_vectors(vector_column, metric, "open_iceberg"), metadata_file,
        version,
        _storage_options(storage_options)))


def import_iceberg(
    source: Union[str, os.PathLike],
    dest: Union[str, os.PathLike],
    *,
    vector_column: Union[None, str, Sequence[str]] = None,
    metric: Optional[str] = None,
    index: str = "hnsw",
    source_storage_options: Optional[Mapping[str, Any]] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Table:
    """Makes an ailake table at ``dest`` of the current snapshot of the
    Iceberg table at ``source`` (read as ``open_iceberg`` reads it): one data
    file per Iceberg data file, its live rows written with an ``index`` for
    each vector column, committed as one version. Returns the new table."""
    return Table(_ailake.Table.import_iceberg(
        os.fspath(source), os.fspath(dest),
        _iceberg_vectors(vector_column, metric, "import_iceberg"), index,
        _storage_options(source_storage_options), _storage_options(storage_options)))
