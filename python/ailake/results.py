"""Typed results: what ``Table.versions()``, ``fragments()``, ``optimize()``,
``cleanup()``, ``verify()``, ``iceberg_view()``, ``last_search_stats()``,
``io_stats()`` and ``merge_insert(...).execute()`` return.

Each is a frozen dataclass: fields are attributes (``v.version``,
``f.files[0].path``), a value that is not set is ``None`` (never ``""`` or
``-1``), and ``to_dict()`` gives a plain dict. Earlier releases returned
dicts; reading a result as one (``v["version"]``, ``dict(v)``, ``v == {...}``)
still works and warns (``DeprecationWarning``) naming the attribute to use.
"""
from __future__ import annotations

import dataclasses
import datetime
import warnings
from typing import Any, Dict, Iterator, List, Mapping, Optional, Type, TypeVar

T = TypeVar("T", bound="Result")


def _warn(obj: "Result", how: str, key: Any = None) -> None:
    name = type(obj).__name__
    hint = f"use .{key}" if isinstance(key, str) else "use its attributes or .to_dict()"
    warnings.warn(f"reading an ailake {name} as a dict ({how}) is deprecated; {hint}",
                  DeprecationWarning, stacklevel=3)


class Result:
    """The base of typed results (see the module's documentation)."""

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a plain dict (nested results too)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def _legacy(self) -> Dict[str, Any]:
        """The dict earlier releases returned: nested results as dicts, unset
        values as their old sentinels, renamed fields under their old names."""
        return {k: _legacy_value(v) for k, v in self._legacy_items()}

    def _legacy_items(self) -> List[Any]:
        return [(k, getattr(self, k)) for k in self._names()]

    # The dict protocol of earlier releases, deprecated.
    def __getitem__(self, key: str) -> Any:
        _warn(self, f"[{key!r}]", key)
        return self._legacy()[key]

    def get(self, key: str, default: Any = None) -> Any:
        _warn(self, f".get({key!r})", key)
        return self._legacy().get(key, default)

    def keys(self) -> List[str]:
        _warn(self, ".keys()")
        return list(self._legacy())

    def items(self) -> List[Any]:
        _warn(self, ".items()")
        return list(self._legacy().items())

    def __contains__(self, key: object) -> bool:
        return key in self._legacy()

    def __iter__(self) -> Iterator[str]:
        _warn(self, "iteration")
        return iter(self._legacy())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            _warn(self, "== a dict")
            return self._legacy() == dict(other)
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._names())

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def _names(cls) -> List[str]:
        return [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def _from(cls: Type[T], d: Mapping[str, Any], **overrides: Any) -> T:
        values = {k: d[k] for k in cls._names() if k in d}
        values.update(overrides)
        return cls(**values)  # type: ignore[call-arg]


def _legacy_value(v: Any) -> Any:
    if isinstance(v, Result):
        return v._legacy()
    if isinstance(v, list):
        return [_legacy_value(x) for x in v]
    return v


@dataclasses.dataclass(frozen=True, eq=False)
class Version(Result):
    """One version of a table."""

    version: int
    timestamp: datetime.datetime  # when it was committed (UTC)
    operation: str  # create, append, delete, update, merge, index, compact, ...
    detail: str
    num_rows: int  # live rows
    num_fragments: int

    @property
    def timestamp_micros(self) -> int:
        """Microseconds since the Unix epoch (as earlier releases gave it)."""
        delta = self.timestamp - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return delta // datetime.timedelta(microseconds=1)

    def _legacy_items(self) -> List[Any]:
        return [("timestamp_micros", self.timestamp_micros) if k == "timestamp"
                else (k, getattr(self, k)) for k in self._names()]

    @staticmethod
    def _of(d: Mapping[str, Any]) -> "Version":
        ts = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(microseconds=int(d["timestamp_micros"]))
        return Version._from(d, timestamp=ts)


@dataclasses.dataclass(frozen=True, eq=False)
class DataFile(Result):
    """A data file of a fragment."""

    path: str  # relative to the table
    size_bytes: int
    index_state: str  # "indexed", "pending" (owed an index) or "none"
    format: str  # "parquet" or "lance"
    columns: List[str]


@dataclasses.dataclass(frozen=True, eq=False)
class Fragment(Result):
    """A fragment of a version: rows stored in one or more data files."""

    id: int
    physical_rows: int
    deleted_rows: int
    files: List[DataFile]

    @staticmethod
    def _of(d: Mapping[str, Any]) -> "Fragment":
        return Fragment._from(d, files=[DataFile._from(f) for f in d["files"]])


@dataclasses.dataclass(frozen=True, eq=False)
class PendingFile(Result):
    """A data file owed an index."""

    fragment: int
    path: str
    rows: int  # physical


@dataclasses.dataclass(frozen=True, eq=False)
class SearchStats(Result):
    """What the last search of a Table did."""

    files: int
    files_pruned: int
    files_index_searched: int
    files_exact_scanned: int
    requests: int  # to a remote store (0 on a local disk)
    bytes_read: int
    cache_hits: int  # blocks of the read cache
    cache_misses: int


@dataclasses.dataclass(frozen=True, eq=False)
class IoStats(Result):
    """Requests to a table's store since it was opened (all 0 on a local disk)."""

    requests: int
    get_requests: int
    head_requests: int
    put_requests: int
    list_requests: int
    delete_requests: int
    bytes_read: int
    bytes_written: int
    cache_hits: int
    cache_misses: int


@dataclasses.dataclass(frozen=True, eq=False)
class OptimizeStats(Result):
    """What Table.optimize / merge_fragments did."""

    merges: int
    fragments_removed: int
    fragments_added: int
    rows_rewritten: int
    rows_dropped: int
    codebooks_trained: int
    indexes_built: int
    version: int  # the table's version afterwards


@dataclasses.dataclass(frozen=True, eq=False)
class CompactionStats(Result):
    """What Table.compact did."""

    fragments_removed: int
    fragments_added: int
    rows_dropped: int
    version: int


@dataclasses.dataclass(frozen=True, eq=False)
class CleanupStats(Result):
    """What Table.cleanup / cleanup_old_versions removed."""

    versions_removed: int
    files_removed: int
    bytes_removed: int


@dataclasses.dataclass(frozen=True, eq=False)
class MergeResult(Result):
    """What merge_insert(...).execute() changed, in one version."""

    num_inserted_rows: int
    num_updated_rows: int
    num_deleted_rows: int
    version: int


@dataclasses.dataclass(frozen=True, eq=False)
class VerifyReport(Result):
    """What Table.verify found: ``problems`` each name the object."""

    ok: bool
    problems: List[str]
    manifests_checked: int
    files_checked: int
    deletion_files_checked: int


@dataclasses.dataclass(frozen=True, eq=False)
class IcebergViewStatus(Result):
    """What the table's Iceberg view reflects."""

    enabled: bool
    metadata_path: Optional[str]  # the newest metadata file; None before the first
    published_version: Optional[int]  # the newest version it reflects
    current_snapshot_id: Optional[int]  # the version its current snapshot shows
    lag: Optional[str]  # why the current snapshot is older than published_version
    last_error: Optional[str]  # of this process's last failed publication

    def _legacy_items(self) -> List[Any]:
        old = {"metadata_path": "", "published_version": 0, "current_snapshot_id": -1,
               "lag": "", "last_error": ""}
        return [(k, old[k] if getattr(self, k) is None and k in old else getattr(self, k))
                for k in self._names()]

    @staticmethod
    def _of(d: Mapping[str, Any]) -> "IcebergViewStatus":
        def unset(v: Any, none: Any) -> Any:
            return None if v == none else v
        return IcebergViewStatus(
            enabled=bool(d["enabled"]),
            metadata_path=unset(d["metadata_path"], ""),
            published_version=unset(d["published_version"], 0),
            current_snapshot_id=unset(d["current_snapshot_id"], -1),
            lag=unset(d["lag"], ""),
            last_error=unset(d["last_error"], ""))


@dataclasses.dataclass(frozen=True, eq=False)
class IcebergViewRebuild(Result):
    """What Table.rebuild_iceberg_view wrote."""

    metadata_path: str
    snapshots: int
    lagging: List[str]  # versions Iceberg cannot express, each with why


class Hits:
    """What :meth:`ailake.Index.search` returns: ``ids`` (int64, num_queries
    x k; -1 where fewer than k rows qualify) and ``distances`` (float32, the
    same shape; inf there), ids first as everywhere in ailake.

    Earlier releases returned the tuple ``(distances, ids)``; unpacking or
    indexing a Hits still gives that order and warns (``DeprecationWarning``).
    """

    __slots__ = ("ids", "distances")

    def __init__(self, ids: Any, distances: Any) -> None:
        self.ids = ids
        self.distances = distances

    def _legacy(self, how: str) -> tuple:
        warnings.warn(f"{how} Index.search's result as (distances, ids) is deprecated; read "
                      ".ids and .distances", DeprecationWarning, stacklevel=3)
        return (self.distances, self.ids)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._legacy("unpacking"))

    def __getitem__(self, i: int) -> Any:
        return self._legacy("indexing")[i]

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"Hits(ids={self.ids!r}, distances={self.distances!r})"
