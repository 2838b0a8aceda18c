"""Type stubs of the ailake package (documentation: the modules of python/ailake, one per
concept, and docs/PYTHON.md). The public API is described here as the package exports it."""
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .db import Database as Database, connect as connect, write_dataset as write_dataset
from .query import HybridQuery as HybridQuery, Query as Query, TextQuery as TextQuery
from .changes import MergeInsert as MergeInsert
from .results import (
    CleanupStats as CleanupStats,
    CompactionStats as CompactionStats,
    DataFile as DataFile,
    Fragment as Fragment,
    Hits as Hits,
    IcebergViewRebuild as IcebergViewRebuild,
    IcebergViewStatus as IcebergViewStatus,
    IoStats as IoStats,
    MergeResult as MergeResult,
    OptimizeStats as OptimizeStats,
    PendingFile as PendingFile,
    SearchStats as SearchStats,
    VerifyReport as VerifyReport,
    Version as Version,
)

__version__: str
DEFAULT_METRIC: str

_Path = Union[str, os.PathLike[str]]
_Vectors = Union[npt.NDArray[Any], Sequence[Sequence[float]]]

class TableWriter:
    path: str
    def __init__(
        self,
        path: _Path,
        vector_column: str = ...,
        dim: Optional[int] = ...,
        metric: str = ...,
        precision: str = ...,
        index: Optional[str] = ...,
        *,
        vector_columns: Optional[Sequence[Mapping[str, Any]]] = ...,
        background_threads: int = ...,
        auto_optimize: bool = ...,
        merge_factor: int = ...,
        min_rows_per_file: int = ...,
        max_row_group_rows: Optional[int] = ...,
        compression: Optional[str] = ...,
        num_threads: int = ...,
        storage_format: Optional[str] = ...,
        storage_options: Optional[Mapping[str, Any]] = ...,
        **index_params: Any,
    ) -> None: ...
    def write_batch(self, data: Any = ..., embeddings: Optional[_Vectors] = ...) -> int: ...
    def write_batch_deferred(self, data: Any = ..., embeddings: Optional[_Vectors] = ...) -> int: ...
    def write_batch_multi(
        self,
        data: Any = ...,
        embeddings: Optional[Mapping[str, _Vectors]] = ...,
        index: Optional[Mapping[str, Optional[str]]] = ...,
    ) -> int: ...
    def commit(self) -> int: ...
    def wait_for_indexing(self) -> None: ...
    @property
    def table(self) -> Table: ...
    def close(self) -> None: ...
    def __enter__(self) -> TableWriter: ...
    def __exit__(self, *exc: Any) -> None: ...

class Table:
    def __init__(self, handle: Any) -> None: ...
    @property
    def version(self) -> int: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def uri(self) -> str: ...
    @property
    def schema(self) -> pa.Schema: ...
    @property
    def vector_columns(self) -> List[Dict[str, Any]]: ...
    def fragments(self) -> List[Fragment]: ...
    def data_files(self) -> List[str]: ...
    def search(
        self,
        query: Union[_Vectors, str, None] = ...,
        k: Optional[int] = ...,
        filter: Optional[str] = ...,
        columns: Optional[Sequence[str]] = ...,
        *,
        query_type: str = ...,
        vector_column: str = ...,
        exact: bool = ...,
        prune: bool = ...,
        num_threads: int = ...,
        fragment_ids: Optional[Sequence[int]] = ...,
        ef: int = ...,
        nprobe: int = ...,
        refine_factor: int = ...,
    ) -> Union[pa.Table, Query, TextQuery, HybridQuery]: ...
    def search_text(
        self,
        query: str,
        k: int = ...,
        filter: Optional[str] = ...,
        columns: Optional[Sequence[str]] = ...,
        *,
        text_column: str = ...,
        tokenizer: Optional[str] = ...,
        stemmer: Optional[str] = ...,
        stop_words: Optional[Sequence[str]] = ...,
        lowercase: Optional[bool] = ...,
        max_token_bytes: Optional[int] = ...,
        cjk_ngram: Optional[int] = ...,
        k1: float = ...,
        b: float = ...,
        num_threads: int = ...,
        fragment_ids: Optional[Sequence[int]] = ...,
    ) -> pa.Table: ...
    def search_hybrid(
        self,
        vector: _Vectors,
        text: str,
        k: int = ...,
        filter: Optional[str] = ...,
        columns: Optional[Sequence[str]] = ...,
        *,
        fusion: str = ...,
        rrf_k: float = ...,
        text_weight: float = ...,
        candidates: int = ...,
        vector_column: str = ...,
        exact: bool = ...,
        text_column: str = ...,
        tokenizer: Optional[str] = ...,
        stemmer: Optional[str] = ...,
        stop_words: Optional[Sequence[str]] = ...,
        lowercase: Optional[bool] = ...,
        max_token_bytes: Optional[int] = ...,
        cjk_ngram: Optional[int] = ...,
        k1: float = ...,
        b: float = ...,
        num_threads: int = ...,
        ef: int = ...,
        nprobe: int = ...,
        refine_factor: int = ...,
    ) -> pa.Table: ...
    def add(self, data: Any) -> Table: ...
    def update(
        self,
        where: Optional[str] = ...,
        values: Optional[Mapping[str, Any]] = ...,
        *,
        values_sql: Optional[Mapping[str, str]] = ...,
        params: Optional[Sequence[Any]] = ...,
    ) -> int: ...
    def merge_insert(self, on: Union[str, Sequence[str]]) -> MergeInsert: ...
    def last_search_stats(self) -> SearchStats: ...
    def io_stats(self) -> IoStats: ...
    def scan(
        self,
        columns: Optional[Sequence[str]] = ...,
        filter: Optional[str] = ...,
        limit: int = ...,
        with_row_id: bool = ...,
    ) -> pa.Table: ...
    def to_reader(
        self,
        columns: Optional[Sequence[str]] = ...,
        filter: Optional[str] = ...,
        limit: int = ...,
        with_row_id: bool = ...,
    ) -> pa.RecordBatchReader: ...
    def take(self, row_ids: Any, columns: Optional[Sequence[str]] = ..., with_row_id: bool = ...) -> pa.Table: ...
    def versions(self) -> List[Version]: ...
    def checkout(self, version: Union[int, str]) -> Table: ...
    @property
    def tags(self) -> Tags: ...
    def refresh(self) -> Table: ...
    def delete(self, filter: str) -> int: ...
    def optimize(
        self,
        merge_factor: int = ...,
        max_rows_per_fragment: int = ...,
        max_deleted_fraction: float = ...,
        build_pending_indexes: bool = ...,
        num_threads: int = ...,
    ) -> OptimizeStats: ...
    def plan_optimize(
        self,
        merge_factor: int = ...,
        max_rows_per_fragment: int = ...,
        max_deleted_fraction: float = ...,
    ) -> List[List[int]]: ...
    def merge_fragments(
        self,
        fragment_ids: Sequence[int],
        merge_factor: int = ...,
        max_rows_per_fragment: int = ...,
        max_deleted_fraction: float = ...,
        num_threads: int = ...,
    ) -> OptimizeStats: ...
    def compact(self, target_rows_per_fragment: int = ..., max_deleted_fraction: float = ...) -> CompactionStats: ...
    def add_column(
        self,
        name: str,
        values: Callable[[pa.Table], Any],
        type: Optional[pa.DataType] = ...,
        input_columns: Optional[Sequence[str]] = ...,
    ) -> int: ...
    def add_columns(self, transforms: Any) -> int: ...
    def alter_columns(self, *alterations: Mapping[str, Any]) -> int: ...
    def drop_columns(self, names: Sequence[str]) -> int: ...
    def rename_column(self, old: str, new: str) -> int: ...
    def stage_write(self, data: Any, deferred: bool = ...) -> bytes: ...
    def commit_staged(self, staged: Sequence[bytes]) -> int: ...
    def pending_files(self) -> List[str]: ...
    def train_pending_codebooks(self, num_threads: int = ...) -> int: ...
    def build_pending_indexes_of(self, paths: Sequence[str], num_threads: int = ...) -> int: ...
    def restore(self, version: int) -> int: ...
    def cleanup(self, retain_versions: int = ..., grace_seconds: int = ...) -> CleanupStats: ...
    def cleanup_old_versions(self, older_than: Any = ..., *, delete_unverified: bool = ...) -> CleanupStats: ...
    def verify(self) -> VerifyReport: ...
    def pending_indexing(self) -> List[PendingFile]: ...
    def iceberg_view(self) -> IcebergViewStatus: ...
    def set_iceberg_view(self, enabled: bool) -> int: ...
    @property
    def storage_format(self) -> str: ...
    def set_storage_format(self, format: str) -> int: ...
    def drop_index(self, vector_column: str = ...) -> int: ...
    def create_fts_index(
        self,
        column: Union[str, Sequence[str]],
        *,
        replace: bool = ...,
        with_position: bool = ...,
        wait: bool = ...,
        tokenizer: str = ...,
        stemmer: Optional[str] = ...,
        stop_words: Sequence[str] = ...,
        lowercase: bool = ...,
        max_token_bytes: int = ...,
        cjk_ngram: int = ...,
    ) -> int: ...
    def drop_fts_index(self, column: str) -> int: ...
    def list_fts_indices(self) -> List[Dict[str, Any]]: ...
    def create_index(
        self,
        vector_column: str = ...,
        index: str = ...,
        *,
        wait: bool = ...,
        num_threads: int = ...,
        **index_params: Any,
    ) -> int: ...
    def rebuild_iceberg_view(self) -> IcebergViewRebuild: ...
    def wait_for_indexing(self, num_threads: int = ...) -> int: ...
    def to_arrow(self) -> pa.Table: ...
    def to_pandas(self, columns: Optional[Sequence[str]] = ..., filter: Optional[str] = ...) -> Any: ...
    def to_polars(self, columns: Optional[Sequence[str]] = ..., filter: Optional[str] = ...) -> Any: ...
    def head(self, n: int = ..., columns: Optional[Sequence[str]] = ...) -> pa.Table: ...
    def count_rows(self, filter: Optional[str] = ...) -> int: ...
    def __len__(self) -> int: ...

class Tags:
    def __init__(self, table: Table) -> None: ...
    def list(self) -> Dict[str, int]: ...
    def create(self, name: str, version: int) -> None: ...
    def delete(self, name: str) -> None: ...

def open_table(
    path: _Path,
    version: Optional[int] = ...,
    *,
    storage_options: Optional[Mapping[str, Any]] = ...,
) -> Table: ...
def open_iceberg(
    path: _Path,
    version: Optional[int] = ...,
    *,
    vector_column: Union[None, str, Sequence[str]] = ...,
    metric: Optional[str] = ...,
    metadata_file: str = ...,
    storage_options: Optional[Mapping[str, Any]] = ...,
) -> Table: ...
def import_iceberg(
    source: _Path,
    dest: _Path,
    *,
    vector_column: Union[None, str, Sequence[str]] = ...,
    metric: Optional[str] = ...,
    index: str = ...,
    source_storage_options: Optional[Mapping[str, Any]] = ...,
    storage_options: Optional[Mapping[str, Any]] = ...,
) -> Table: ...
def write_lance_file(
    path: _Path, data: Any, *, version: str = ..., max_page_bytes: int = ...
) -> None: ...
def read_lance_file(
    path: _Path,
    columns: Optional[Sequence[str]] = ...,
    *,
    rows: Optional[Sequence[int]] = ...,
    offset: int = ...,
    length: int = ...,
) -> pa.Table: ...
def create_table(
    path: _Path,
    schema: pa.Schema,
    vector_column: str = ...,
    dim: Optional[int] = ...,
    metric: str = ...,
    precision: str = ...,
    index: Optional[str] = ...,
    *,
    storage_format: Optional[str] = ...,
    storage_options: Optional[Mapping[str, Any]] = ...,
    **index_params: Any,
) -> Table: ...
def set_read_cache_capacity(num_bytes: int) -> None: ...
def read_cache_used_bytes() -> int: ...
def clear_read_cache() -> None: ...

class File:
    path: str
    def __init__(self, handle: Any, path: str) -> None: ...
    def is_ailake_file(self) -> bool: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def num_row_groups(self) -> int: ...
    @property
    def format(self) -> str: ...
    @property
    def file_size(self) -> int: ...
    @property
    def schema(self) -> pa.Schema: ...
    @property
    def vector_columns(self) -> List[Dict[str, Any]]: ...
    def search(
        self,
        query: _Vectors,
        k: int = ...,
        columns: Optional[Sequence[str]] = ...,
        *,
        filter: Optional[str] = ...,
        vector_column: str = ...,
        allowed: Optional[npt.NDArray[np.bool_]] = ...,
        exact: bool = ...,
        ef: int = ...,
        nprobe: int = ...,
        refine_factor: int = ...,
    ) -> pa.Table: ...
    def search_rows(
        self,
        query: _Vectors,
        k: int = ...,
        *,
        vector_column: str = ...,
        allowed: Optional[npt.NDArray[np.bool_]] = ...,
        ef: int = ...,
        nprobe: int = ...,
        refine_factor: int = ...,
    ) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    def read(self, columns: Optional[Sequence[str]] = ..., row_start: int = ..., row_end: int = ...) -> pa.Table: ...
    def take(self, rows: Any, columns: Optional[Sequence[str]] = ...) -> pa.Table: ...
    def centroid(self, vector_column: str = ...) -> Tuple[npt.NDArray[np.float32], float]: ...
    def verify(self) -> None: ...

def open_file(path: _Path, memory_map: bool = ..., codebooks: Optional[Sequence[_Path]] = ...) -> File: ...

class Index:
    def __init__(self, handle: Any) -> None: ...
    @staticmethod
    def build(vectors: _Vectors, index: str = ..., metric: Optional[str] = ..., *, num_threads: int = ..., **params: Any) -> Index: ...
    @staticmethod
    def load(path: _Path, memory_map: bool = ...) -> Index: ...
    def save(self, path: _Path) -> None: ...
    def search(
        self,
        queries: _Vectors,
        k: int = ...,
        *,
        allowed: Optional[npt.NDArray[np.bool_]] = ...,
        num_threads: int = ...,
        ef: int = ...,
        nprobe: int = ...,
        refine_factor: int = ...,
    ) -> Hits: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def type(self) -> str: ...
    def __len__(self) -> int: ...

class TextHits:
    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    parts: Optional[npt.NDArray[np.int64]]
    def __init__(self, ids: npt.NDArray[np.int64], scores: npt.NDArray[np.float32], parts: Optional[npt.NDArray[np.int64]]) -> None: ...
    def __len__(self) -> int: ...

class TextIndex:
    def __init__(self, handle: Any) -> None: ...
    @staticmethod
    def build(
        texts: Iterable[Any],
        *,
        tokenizer: str = ...,
        stemmer: Optional[str] = ...,
        stop_words: Sequence[str] = ...,
        lowercase: bool = ...,
        max_token_bytes: int = ...,
        cjk_ngram: int = ...,
        positions: bool = ...,
    ) -> TextIndex: ...
    @staticmethod
    def from_bytes(data: bytes) -> TextIndex: ...
    def to_bytes(self) -> bytes: ...
    def search(self, query: str, k: int = ..., *, allowed: Optional[npt.NDArray[np.bool_]] = ...) -> TextHits: ...
    @property
    def num_terms(self) -> int: ...
    @property
    def total_tokens(self) -> int: ...
    @property
    def has_positions(self) -> bool: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def analyzer(self) -> str: ...
    def __len__(self) -> int: ...

def search_text_indexes(indexes: Sequence[TextIndex], query: str, k: int = ...) -> TextHits: ...

def build_index(vectors: _Vectors, index: str = ..., metric: Optional[str] = ..., **params: Any) -> Index: ...
def load_index(path: _Path, memory_map: bool = ...) -> Index: ...
