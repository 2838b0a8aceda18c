"""ailake: vector-native lakehouse tables in standard Parquet.

Tables are folders of AI-Lake files (Parquet with the vector index embedded
between the last row group and the footer), versioned with atomic commits and
searchable by similarity with filters. Every Parquet engine reads the files.

Entry points:

* :class:`TableWriter` writes batches to a table (created on first write).
* :func:`open_table` opens a table (any version) to search, scan, take,
  delete, compact, add columns and travel in time.
* :func:`open_file` opens one AI-Lake file.
* :class:`Index` is the index layer on its own (flat, HNSW, IVF-PQ) over a
  numpy matrix, like FAISS.

Arrow data goes in through the Arrow PyCapsule interface (pyarrow, polars,
pandas) and comes out as ``pyarrow.Table``; numpy float32 C-contiguous
matrices are used in place. The GIL is released during I/O, index builds and
searches.
"""

from __future__ import annotations

# pyarrow first: it loads the Arrow C++ libraries the extension module links.
import pyarrow  # noqa: F401

from . import _ailake

# One module per concept; this file only gathers the public names:
# table (Table, Tags, open_table), writer (TableWriter, create_table),
# iceberg (open_iceberg, import_iceberg), file (File, open_file, Lance files),
# index (Index, build_index, load_index), read_cache, results (typed results),
# db (connect, Database), query (Query), changes (update, merge_insert),
# data (user data made Arrow). Private: _convert (Arrow streams, numpy
# vectors), _options (settings the extension takes, DEFAULT_METRIC).
from ._options import DEFAULT_METRIC
from .db import Database, connect, write_dataset
from .file import File, open_file, read_lance_file, write_lance_file
from .iceberg import import_iceberg, open_iceberg
from .index import Index, build_index, load_index
from .query import HybridQuery, Query, TextQuery
from .read_cache import clear_read_cache, read_cache_used_bytes, set_read_cache_capacity
from .results import (  # noqa: F401  (public: the types of typed results)
    CleanupStats,
    Hits,
    CompactionStats,
    DataFile,
    Fragment,
    IcebergViewRebuild,
    IcebergViewStatus,
    IoStats,
    MergeResult,
    OptimizeStats,
    PendingFile,
    SearchStats,
    VerifyReport,
    Version,
)
from .table import Table, Tags, open_table
from .text import TextHits, TextIndex, search_text_indexes
from .writer import TableWriter, create_table

__version__ = _ailake.__version__

__all__ = [
    "connect",
    "Database",
    "write_dataset",
    "HybridQuery",
    "Query",
    "TextQuery",
    "Tags",
    "TableWriter",
    "Table",
    "File",
    "Index",
    "TextIndex",
    "TextHits",
    "search_text_indexes",
    "open_table",
    "open_iceberg",
    "import_iceberg",
    "write_lance_file",
    "read_lance_file",
    "create_table",
    "open_file",
    "set_read_cache_capacity",
    "read_cache_used_bytes",
    "clear_read_cache",
    "build_index",
    "load_index",
    "DEFAULT_METRIC",
    "Version",
    "Fragment",
    "DataFile",
    "PendingFile",
    "SearchStats",
    "IoStats",
    "OptimizeStats",
    "CompactionStats",
    "CleanupStats",
    "MergeResult",
    "VerifyReport",
    "IcebergViewStatus",
    "IcebergViewRebuild",
    "Hits",
    "__version__",
]
