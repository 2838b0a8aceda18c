"""Tables: :class:`Table` (one version of a table, to search, scan, take,
change and travel in time), its :class:`Tags`, and :func:`open_table`, which
opens one. Writing is :mod:`ailake.writer`'s; plain Apache Iceberg tables are
opened by :mod:`ailake.iceberg`.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pyarrow as pa

from . import _ailake
from ._convert import _Stream, _arrow_data, _as_query, _schema, _to_table
from ._options import _check_search_params, _storage_options
from .text import _analyzer, _search_analyzer
from .results import (
    CleanupStats,
    CompactionStats,
    Fragment,
    IcebergViewRebuild,
    IcebergViewStatus,
    IoStats,
    OptimizeStats,
    PendingFile,
    SearchStats,
    VerifyReport,
    Version,
)


class Table:
    """One version of a table. :meth:`delete`, :meth:`compact`,
    :meth:`add_column`, :meth:`restore` and :meth:`wait_for_indexing` commit
    new versions and move this object to the latest one."""

    def __init__(self, handle: Any) -> None:
        self._t = handle

    @property
    def version(self) -> int:
        return self._t.version

    @property
    def num_rows(self) -> int:
        """Live rows (deleted rows excluded)."""
        return self._t.num_rows

    @property
    def uri(self) -> str:
        return self._t.uri

    @property
    def schema(self) -> pa.Schema:
        return _schema(self._t.schema_stream())

    @property
    def vector_columns(self) -> List[Dict[str, Any]]:
        return self._t.vector_columns()

    def fragments(self) -> List["Fragment"]:
        """Fragments of this version with their data files (paths relative to the table)."""
        return [Fragment._of(f) for f in self._t.fragments()]

    def data_files(self) -> List[str]:
        """Absolute paths (or s3:// URIs) of this version's data files."""
        return [
            self.uri.rstrip("/") + "/" + f.path if "://" in self.uri
            else os.path.join(self.uri, f.path)
            for fr in self.fragments() for f in fr.files
        ]

    def search(
        self,
        query: Any = None,
        k: Optional[int] = None,
        filter: Optional[str] = None,
        columns: Optional[Sequence[str]] = None,
        *,
        query_type: str = "auto",
        vector_column: str = "",
        exact: bool = False,
        prune: bool = True,
        num_threads: int = 0,
        fragment_ids: Optional[Sequence[int]] = None,
        **index_params: Any,
    ) -> Any:
        """The k nearest live rows to ``query``, ascending by ``_distance``.

        Given only ``query`` (and perhaps ``vector_column``), returns a
        :class:`ailake.Query` to refine and run, LanceDB's way:
        ``t.search(q).where("x > ?", [3]).limit(5).to_pandas()``. With ``k``
        or any other argument it runs at once and returns a pyarrow Table
        (``k`` defaults to 10).

        ``query``: one vector (1-D), or many (a 2-D array, one query per row),
        searched in one call; the result then starts with a ``_query`` column
        (the query's row) and holds each query's rows in turn.

        ``filter`` is a SQL-like predicate (``"category = 3 AND price < 10"``,
        ``"tag IN ('a', 'b')"``, ``"name LIKE 'x%'"``) applied inside the index
        search, so k rows come back whenever k rows match. ``columns``: the
        returned columns (default all but vector columns), plus ``_distance``
        and ``_rowid``. ``index_params``: ``ef`` (HNSW), ``nprobe`` and
        ``refine_factor`` (IVF-PQ). ``exact=True`` scans every row.
        ``fragment_ids``: search only these fragments (one share of a
        distributed search, see ``ailake.ray.search``).
        """
        if query_type not in ("auto", "vector", "fts", "hybrid"):
            raise ValueError(f"query_type must be 'auto', 'vector', 'fts' or 'hybrid', got "
                             f"{query_type!r}")
        if query_type == "hybrid" or (query_type == "fts" or
                                      (query_type == "auto" and isinstance(query, str))):
            from .query import HybridQuery, TextQuery

            if query_type == "hybrid":
                if k is not None or filter is not None or columns is not None or index_params:
                    raise TypeError("search(query_type='hybrid') returns a HybridQuery: set the "
                                    "rest with .vector(v).text(s).where(...).limit(k)")
                q = HybridQuery(self, vector_column=vector_column)
                return q.text(query) if isinstance(query, str) else (
                    q.vector(query) if query is not None else q)
            if not isinstance(query, str):
                raise TypeError(f"a full-text query is a str, got {type(query).__name__}")
            if index_params:
                raise TypeError(f"full-text search takes no index settings "
                                f"{sorted(index_params)}; see Table.search_text")
            tq = TextQuery(self, query)
            if k is None and filter is None and columns is None:
                return tq
            tq = tq.limit(10 if k is None else k).select(columns) if columns is not None else \
                tq.limit(10 if k is None else k)
            return (tq.where(filter) if filter is not None else tq).to_arrow()
        if query is None:
            raise TypeError("search() needs a query vector (or query_type='hybrid')")
        _check_search_params(index_params)
        if (k is None and filter is None and columns is None and not exact and prune and
                num_threads == 0 and fragment_ids is None and not index_params):
            from .query import Query

            return Query(self, query, vector_column=vector_column)
        k = 10 if k is None else k
        q = np.asarray(query, dtype=np.float32)
        call = self._t.search_batch if q.ndim == 2 else self._t.search
        return _to_table(
            call(
                np.ascontiguousarray(q) if q.ndim == 2 else _as_query(q),
                int(k),
                filter,
                list(columns) if columns is not None else None,
                vector_column,
                int(index_params.get("ef", 0)),
                int(index_params.get("nprobe", 0)),
                int(index_params.get("refine_factor", 0)),
                exact,
                prune,
                num_threads,
                [int(f) for f in fragment_ids or ()],
            )
        )

    def search_text(
        self,
        query: str,
        k: int = 10,
        filter: Optional[str] = None,
        columns: Optional[Sequence[str]] = None,
        *,
        text_column: str = "",
        tokenizer: Optional[str] = None,
        stemmer: Optional[str] = None,
        stop_words: Optional[Sequence[str]] = None,
        lowercase: Optional[bool] = None,
        max_token_bytes: Optional[int] = None,
        cjk_ngram: Optional[int] = None,
        k1: float = 1.2,
        b: float = 0.75,
        num_threads: int = 0,
        fragment_ids: Optional[Sequence[int]] = None,
    ) -> pa.Table:
        """The ``k`` live rows best matching ``query`` by BM25, descending by
        ``_score``, with ``columns`` (default all but vector columns) and
        ``_rowid``. Scores use the whole table's statistics (live rows, their
        lengths, each term's live document frequency), so they are what one
        index over the table would give. ``filter`` (SQL) applies inside the
        search: ``k`` rows come back whenever ``k`` live rows match.

        Syntax: ``word`` (should match), ``+word`` (must), ``-word`` (must
        not), ``"a phrase"``, ``pre*``. ``text_column``: a string column or a
        list of strings (default: the table's only one). The analyzer settings
        are :meth:`ailake.TextIndex.build`'s; none given: the analyzer of the
        column's full-text index (:meth:`create_fts_index`), else the
        defaults. Files carrying the column's index are searched in place;
        for the others (no index, or another analyzer) each fragment's index
        is built on the first query and kept while the table is open."""
        return _to_table(self._t.search_text(
            str(query), int(k), filter, list(columns) if columns is not None else None,
            text_column, _search_analyzer(tokenizer, stemmer, stop_words, lowercase,
                                          max_token_bytes, cjk_ngram),
            float(k1), float(b), int(num_threads), [int(f) for f in fragment_ids or ()]))

    def search_hybrid(
        self,
        vector: Any,
        text: str,
        k: int = 10,
        filter: Optional[str] = None,
        columns: Optional[Sequence[str]] = None,
        *,
        fusion: str = "rrf",
        rrf_k: float = 60.0,
        text_weight: float = 0.5,
        candidates: int = 0,
        vector_column: str = "",
        exact: bool = False,
        text_column: str = "",
        tokenizer: Optional[str] = None,
        stemmer: Optional[str] = None,
        stop_words: Optional[Sequence[str]] = None,
        lowercase: Optional[bool] = None,
        max_token_bytes: Optional[int] = None,
        cjk_ngram: Optional[int] = None,
        k1: float = 1.2,
        b: float = 0.75,
        num_threads: int = 0,
        **index_params: Any,
    ) -> pa.Table:
        """A vector search and a full-text search (each for ``candidates``
        rows, default ``2 * k``, the same ``filter``) fused into one ranking,
        descending by ``_relevance_score``: ``fusion="rrf"`` sums
        ``1 / (rrf_k + rank)`` over the two lists; ``"linear"`` sums
        ``text_weight`` times the min-max normalised BM25 score and
        ``1 - text_weight`` times the normalised vector similarity. Results
        carry ``_distance`` and ``_score`` (null where that side did not find
        the row) and ``_rowid``. ``exact=True`` ranks the vector side by exact
        distances; ``index_params``: ``ef``, ``nprobe``, ``refine_factor``."""
        _check_search_params(index_params)
        return _to_table(self._t.search_hybrid(
            _as_query(np.asarray(vector, dtype=np.float32)), str(text), int(k), filter,
            list(columns) if columns is not None else None, str(fusion), float(rrf_k),
            float(text_weight), int(candidates), vector_column,
            int(index_params.get("ef", 0)), int(index_params.get("nprobe", 0)),
            int(index_params.get("refine_factor", 0)), bool(exact), text_column,
            _search_analyzer(tokenizer, stemmer, stop_words, lowercase, max_token_bytes,
                             cjk_ngram),
            float(k1), float(b), int(num_threads)))

    def last_search_stats(self) -> "SearchStats":
        """Files searched, pruned, index-searched and scanned by the last
        search, and (remote tables) the ``requests`` it made, ``bytes_read``,
        and the read cache's ``cache_hits`` / ``cache_misses`` (blocks)."""
        return SearchStats._from(self._t.last_search_stats())

    def io_stats(self) -> "IoStats":
        """Requests to the table's store since it was opened, by kind
        (``get_requests``, ``head_requests``, ``put_requests``,
        ``list_requests``, ``delete_requests``, total ``requests``), bytes read
        and written, and the read cache's hits and misses. All zero on a
        local disk (files are memory-mapped)."""
        return IoStats._from(self._t.io_stats())

    def scan(
        self,
        columns: Optional[Sequence[str]] = None,
        filter: Optional[str] = None,
        limit: int = -1,
        with_row_id: bool = False,
    ) -> pa.Table:
        """The live rows (optionally filtered and projected) as one table."""
        return self.to_reader(columns, filter, limit, with_row_id).read_all()

    def to_reader(
        self,
        columns: Optional[Sequence[str]] = None,
        filter: Optional[str] = None,
        limit: int = -1,
        with_row_id: bool = False,
    ) -> pa.RecordBatchReader:
        """The live rows streamed fragment by fragment."""
        cap = self._t.scan(
            list(columns) if columns is not None else None, filter, int(limit), with_row_id
        )
        return pa.RecordBatchReader.from_stream(_Stream(cap))

    def take(
        self,
        row_ids: Any,
        columns: Optional[Sequence[str]] = None,
        with_row_id: bool = False,
    ) -> pa.Table:
        """Rows by ``_rowid`` (as returned by search/scan), in the order given."""
        if isinstance(row_ids, (pa.Array, pa.ChunkedArray)):
            row_ids = row_ids.to_numpy()
        ids = np.ascontiguousarray(np.asarray(row_ids, dtype=np.uint64))
        return _to_table(
            self._t.take(ids, list(columns) if columns is not None else None, with_row_id)
        )

    def versions(self) -> List["Version"]:
        """Every version of the table (:class:`ailake.results.Version`:
        version, timestamp, operation, detail, num_rows, num_fragments)."""
        return [Version._of(v) for v in self._t.versions()]

    def checkout(self, version: Union[int, str]) -> "Table":
        """The table as of ``version`` (time travel), or of the version a tag
        names when given a string; this object is unchanged."""
        if isinstance(version, str):
            return Table(self._t.checkout_tag(version))
        return Table(self._t.checkout(int(version)))

    @property
    def tags(self) -> "Tags":
        """Names for versions: ``t.tags.create("v1", 3)``, ``t.tags.list()``
        (``{name: version}``), ``t.tags.delete("v1")``, ``t.checkout("v1")``.
        Cleanup keeps tagged versions."""
        return Tags(self)

    def refresh(self) -> "Table":
        """Moves to the latest version; returns self."""
        self._t.refresh()
        return self

    def delete(self, filter: str) -> int:
        """Deletes the rows matching the SQL-like ``filter``; returns how many."""
        return self._t.delete(filter)

    def optimize(
        self,
        merge_factor: int = 10,
        max_rows_per_fragment: int = 1 << 20,
        max_deleted_fraction: float = 0.1,
        build_pending_indexes: bool = True,
        num_threads: int = 0,
    ) -> "OptimizeStats":
        """Brings the table's layout and indexes to their efficient state.

        Log-structured merging: fragments of similar size (a tier is a power
        of ``merge_factor`` in live rows) are merged ``merge_factor`` at a
        time into one indexed fragment, so each row is rewritten at most once
        per tier (a bounded number of times over its life), never once per
        call. Fragments with ``max_deleted_fraction`` of their rows deleted
        are rewritten, and indexes owed by deferred writes are built. Each
        merge commits on its own; an interrupted optimize loses nothing.
        Returns what it did (``merges``, ``fragments_removed``,
        ``fragments_added``, ``rows_rewritten``, ``rows_dropped``,
        ``codebooks_trained``, ``indexes_built``, ``version``). Writers run
        the same merges in the background (``TableWriter(auto_optimize=True)``,
        the default).
        """
        return OptimizeStats._from(self._t.optimize(
            int(merge_factor),
            int(max_rows_per_fragment),
            float(max_deleted_fraction),
            bool(build_pending_indexes),
            int(num_threads),
        ))

    def plan_optimize(
        self,
        merge_factor: int = 10,
        max_rows_per_fragment: int = 1 << 20,
        max_deleted_fraction: float = 0.1,
    ) -> List[List[int]]:
        """The merges :meth:`optimize` would run next on the latest version
        (one round), as lists of fragment ids: for dividing them among
        workers, each running :meth:`merge_fragments` (``ailake.ray.optimize``)."""
        return [list(g) for g in self._t.plan_optimize(
            int(merge_factor), int(max_rows_per_fragment), float(max_deleted_fraction))]

    def merge_fragments(
        self,
        fragment_ids: Sequence[int],
        merge_factor: int = 10,
        max_rows_per_fragment: int = 1 << 20,
        max_deleted_fraction: float = 0.1,
        num_threads: int = 0,
    ) -> "OptimizeStats":
        """Runs one merge of :meth:`plan_optimize` and commits it on its own
        (merges of disjoint groups commit concurrently; a group changed
        meanwhile raises a commit conflict). Returns what :meth:`optimize` does."""
        return OptimizeStats._from(self._t.merge_fragments(
            [int(i) for i in fragment_ids], int(merge_factor), int(max_rows_per_fragment),
            float(max_deleted_fraction), int(num_threads)))

    def compact(
        self, target_rows_per_fragment: int = 1 << 20, max_deleted_fraction: float = 0.1
    ) -> "CompactionStats":
        """Merges small fragments and rewrites those with many deleted rows."""
        return CompactionStats._from(
            self._t.compact(int(target_rows_per_fragment), float(max_deleted_fraction)))

    def add_column(
        self,
        name: str,
        values: Callable[[pa.Table], Any],
        type: Optional[pa.DataType] = None,
        input_columns: Optional[Sequence[str]] = None,
    ) -> int:
        """Adds column ``name`` computed per fragment: ``values(rows)`` gets a
        fragment's rows (``input_columns`` of them; deleted rows included, in
        order) and returns one value per row (pyarrow array, numpy array or
        list). Existing files are not rewritten. Returns the new version."""
        if type is None:
            raise TypeError("add_column needs the column's pyarrow type (type=...)")
        field = pa.field(name, type)

        def fill(capsule: Any) -> pa.RecordBatch:
            rows = _to_table(capsule)
            out = values(rows)
            if isinstance(out, pa.ChunkedArray):
                out = out.combine_chunks()
            arr = pa.array(out, type=type) if not isinstance(out, pa.Array) else out.cast(type)
            if len(arr) != rows.num_rows:
                raise ValueError(f"add_column: {len(arr)} values for {rows.num_rows} rows")
            return pa.RecordBatch.from_arrays([arr], schema=pa.schema([field]))

        return self._t.add_columns(
            pa.schema([field]), fill, list(input_columns) if input_columns else None, []
        )

    def add_columns(self, transforms: Any) -> int:
        """Adds several columns in one version (LanceDB's call):
        ``transforms`` maps new names to expressions of the filter language
        evaluated per row (``{"total": "price * qty", "shout": "upper(name)"}``),
        or is a list of nullable ``pyarrow.Field`` (or a Schema) added as all
        nulls. Existing files are not rewritten. Returns the new version."""
        if isinstance(transforms, pa.Schema):
            transforms = list(transforms)
        if isinstance(transforms, pa.Field):
            transforms = [transforms]
        if isinstance(transforms, Mapping):
            exprs = {str(k): str(v) for k, v in transforms.items()}
            if not exprs:
                raise ValueError("add_columns needs at least one column")
            taken = [n for n in exprs if n in self.schema.names]
            if taken:
                raise ValueError(f"add_columns: column {taken[0]!r} exists already")
            empty = self.schema.empty_table()
            types = {n: _to_table(_ailake.evaluate_sql(e, empty)).schema.field(0).type
                     for n, e in exprs.items()}
            new = pa.schema([pa.field(n, t) for n, t in types.items()])

            def fill(capsule: Any) -> pa.RecordBatch:
                rows = _to_table(capsule)
                cols = [_to_table(_ailake.evaluate_sql(e, rows)).column(0).combine_chunks()
                        for e in exprs.values()]
                return pa.RecordBatch.from_arrays(cols, schema=new)

            return self._t.add_columns(new, fill, None, [])
        if isinstance(transforms, Sequence) and all(isinstance(f, pa.Field) for f in transforms):
            fields = list(transforms)
            if not fields:
                raise ValueError("add_columns needs at least one column")
            for f in fields:
                if not f.nullable:
                    raise ValueError(f"add_columns: field {f.name!r} is not nullable; columns "
                                     "added without values must be nullable")
            new = pa.schema(fields)

            def nulls(capsule: Any) -> pa.RecordBatch:
                n = _to_table(capsule).num_rows
                return pa.RecordBatch.from_arrays([pa.nulls(n, f.type) for f in fields],
                                                  schema=new)

            first = self.schema.names[0]
            return self._t.add_columns(new, nulls, [first], [])
        raise TypeError("add_columns takes {name: sql expression} or a list of pyarrow Fields, "
                        f"got {type(transforms).__name__}")

    def alter_columns(self, *alterations: Mapping[str, Any]) -> int:
        """Renames columns and changes their nullability, LanceDB's way:
        ``alter_columns({"path": "old", "rename": "new"},
        {"path": "price", "nullable": False})``, all in one version (applied
        in order; nothing is committed if any is refused). Making a column
        not nullable is refused while a live row holds a null in it, and
        appends with nulls in it are refused afterwards. Changing
        ``data_type`` is not supported (an error says so); other keys are
        refused. Returns the new version."""
        changes = []
        for a in alterations:
            unknown = set(a) - {"path", "rename", "nullable", "data_type"}
            if unknown or "path" not in a:
                raise ValueError(f"alter_columns: {dict(a)!r}: keys are path, rename and nullable")
            if "data_type" in a:
                raise NotImplementedError(f"alter_columns: changing the data_type of "
                                          f"{a['path']!r} is not supported; add a column "
                                          f"with the new type (add_columns) and drop the old one")
            nullable = a.get("nullable")
            if nullable is not None and not isinstance(nullable, bool):
                raise TypeError(f"alter_columns: nullable of {a['path']!r} must be a bool")
            rename = a.get("rename")
            changes.append((str(a["path"]), None if rename is None else str(rename), nullable))
        return self._t.alter_columns(changes)

    def drop_columns(self, names: Sequence[str]) -> int:
        """Drops columns (a metadata change: no file is rewritten); returns
        the new version."""
        return self._t.drop_columns(list(names))

    def rename_column(self, old: str, new: str) -> int:
        """Renames a column (a metadata change); returns the new version."""
        return self._t.rename_column(str(old), str(new))

    def restore(self, version: int) -> int:
        """Commits a new version with the content of ``version``."""
        return self._t.restore(int(version))

    def cleanup(self, retain_versions: int = 1, grace_seconds: int = 3600) -> "CleanupStats":
        """Removes versions older than the newest ``retain_versions`` (time
        travel to them ends), then every file no remaining version names and
        that was last modified more than ``grace_seconds`` ago (younger files
        may belong to a commit in progress). Returns ``versions_removed``,
        ``files_removed`` and ``bytes_removed``."""
        return CleanupStats._from(self._t.cleanup(int(retain_versions), int(grace_seconds), -1))

    def cleanup_old_versions(
        self, older_than: Any = None, *, delete_unverified: bool = False
    ) -> "CleanupStats":
        """Removes the versions committed more than ``older_than`` ago (a
        ``datetime.timedelta``; default 7 days), always keeping the newest,
        and the files only they named (LanceDB's call). Files younger than an
        hour that no version names are kept (a commit may be coming for them)
        unless ``delete_unverified``. Returns what :meth:`cleanup` returns."""
        import datetime

        if older_than is None:
            older_than = datetime.timedelta(days=7)
        if not isinstance(older_than, datetime.timedelta):
            raise TypeError(f"older_than must be a datetime.timedelta, got "
                            f"{type(older_than).__name__}")
        seconds = int(older_than.total_seconds())
        if seconds < 0:
            raise ValueError(f"older_than must not be negative, got {older_than}")
        return CleanupStats._from(self._t.cleanup(1, 0 if delete_unverified else 3600, seconds))

    def verify(self) -> "VerifyReport":
        """Checks the whole table and reports every problem found: every kept
        manifest (checksum, ids, schema), and for this version every data file
        re-read (page CRCs, section and index checksums, index structure,
        centroids recomputed, row counts) and checked against the manifest
        (sizes, column types, index state), and every deletion file. Returns
        ``ok``, ``problems`` (a list of strings, each naming the object) and
        the counts of ``manifests_checked``, ``files_checked`` and
        ``deletion_files_checked``. The CLI's ``ailake verify`` prints the
        same and exits 1 on a problem."""
        return VerifyReport._from(self._t.verify())

    def iceberg_view(self) -> "IcebergViewStatus":
        """The table's Apache Iceberg (v2) view, which every commit publishes
        beside the manifests (``metadata/vN.metadata.json``,
        ``metadata/version-hint.text``), one snapshot per version with the
        version as its snapshot id, so that Iceberg readers (pyiceberg, Spark)
        read the live rows of any version. Returns ``enabled``,
        ``metadata_path`` (the newest metadata file), ``published_version``
        (the newest version it reflects), ``current_snapshot_id``, ``lag``
        (why the current snapshot is older than that version: something
        Iceberg cannot express, such as a fragment split by ``add_columns``
        until ``optimize`` rewrites it) and ``last_error`` (of this process's
        last failed publication; the next commit catches up)."""
        return IcebergViewStatus._of(self._t.iceberg_view())

    @property
    def storage_format(self) -> str:
        """The container of the table's new data files: ``"parquet"`` or
        ``"lance"`` (each file of ``fragments()`` names its own ``format``)."""
        return str(self._t.storage_format())

    def set_storage_format(self, format: str) -> int:
        """Changes the container of the files written from now on
        (``"parquet"`` or ``"lance"``); ``optimize`` rewrites the existing
        files stored in the other one. Commits a version when the setting
        changes; returns the table's version."""
        return int(self._t.set_storage_format(format))

    def set_iceberg_view(self, enabled: bool) -> int:
        """Switches publishing the Iceberg view on (catching up every kept
        version) or off (its metadata is removed; ``cleanup`` removes the
        rest). Commits a version when the setting changes; returns the
        table's version."""
        return self._t.set_iceberg_view(bool(enabled))

    def rebuild_iceberg_view(self) -> "IcebergViewRebuild":
        """Writes the Iceberg view afresh from every kept version (a new
        ``metadata/vN.metadata.json``). Returns ``metadata_path``,
        ``snapshots`` and ``lagging`` (versions Iceberg cannot express, each
        with the reason)."""
        return IcebergViewRebuild._from(self._t.rebuild_iceberg_view())

    @property
    def pending_indexing(self) -> List["PendingFile"]:
        """The index builds this version owes (files written by deferred
        writes, or whose writer died before indexing them): one dict per data
        file with ``fragment``, ``path`` and ``rows`` (physical). Opening a writer,
        :meth:`optimize` and :meth:`wait_for_indexing` build them."""
        return [
            PendingFile(fragment=f.id, path=d.path, rows=f.physical_rows)
            for f in self.fragments()
            for d in f.files
            if d.index_state == "pending"
        ]

    def wait_for_indexing(self, num_threads: int = 0) -> int:
        """Builds every index still owed by deferred writes (also those a dead
        process left) and commits them; returns the number of files indexed."""
        return self._t.build_pending_indexes(int(num_threads))

    def create_index(
        self,
        vector_column: str = "",
        index: str = "hnsw",
        *,
        wait: bool = True,
        num_threads: int = 0,
        **index_params: Any,
    ) -> int:
        """Gives ``vector_column`` (default: the first) the index ``index``
        (``"hnsw"``, ``"ivf_pq"``, ``"flat"``, ``"auto"``) with ``index_params``
        (``m``, ``ef_construction``, ``nlist``, ``pq_m``, ...), on a table
        indexed or not. The column's dim, metric and precision stay as
        stored (giving another is an error). Commits the setting with every
        file owing the new index (searched exactly meanwhile); with ``wait``
        (the default) also rebuilds every file's index now, one commit each,
        as :meth:`wait_for_indexing` does; otherwise a writer's background
        pool or :meth:`optimize` does it later. Returns the table's version."""
        settings: Dict[str, Any] = dict(index_params)
        if vector_column:
            settings["vector_column"] = vector_column
        settings["index"] = index
        self._t.create_index(settings)
        if wait:
            self._t.build_pending_indexes(int(num_threads))
        return self.version

    def create_fts_index(
        self,
        column: Union[str, Sequence[str]],
        *,
        replace: bool = True,
        with_position: bool = True,
        wait: bool = True,
        tokenizer: str = "simple",
        stemmer: Optional[str] = None,
        stop_words: Sequence[str] = (),
        lowercase: bool = True,
        max_token_bytes: int = 40,
        cjk_ngram: int = 0,
    ) -> int:
        """Gives text ``column`` (a string column or a list of strings; or
        each of several columns) a full-text index: every data file holding
        it carries an inverted index section, built with the analyzer given
        (:meth:`ailake.TextIndex.build`'s settings), which searches then use.
        Commits the setting; with ``wait`` (the default) also writes each
        file again with its section now (its other bytes copied unchanged,
        one commit per file), otherwise :meth:`wait_for_indexing` or
        :meth:`optimize` does. Appends carry the section from then on;
        ``with_position=False`` stores no positions (smaller; no phrase
        queries). ``replace=False`` refuses a column that has one already.
        Returns the table's version."""
        columns = [column] if isinstance(column, str) else list(column)
        if not columns:
            raise ValueError("create_fts_index needs a column")
        analyzer = _analyzer(tokenizer, stemmer, stop_words, lowercase, max_token_bytes,
                             cjk_ngram)
        if not replace:
            have = {d["column"] for d in self._t.text_indexes()}
            taken = [c for c in columns if c in have]
            if taken:
                raise ValueError(f"column(s) {taken} already have a full-text index "
                                 "(replace=True replaces it)")
        for c in columns:
            self._t.create_text_index(str(c), analyzer, bool(with_position), bool(wait))
        return self.version

    def drop_fts_index(self, column: str) -> int:
        """Removes ``column``'s full-text index (one version; files keep its
        bytes until :meth:`optimize` rewrites them). Returns the version."""
        return self._t.drop_text_index(str(column))

    def list_fts_indices(self) -> List[Dict[str, Any]]:
        """The full-text indexes: ``column``, ``analyzer`` (its recorded text
        form) and ``with_position``, one dict each."""
        return list(self._t.text_indexes())

    def drop_index(self, vector_column: str = "") -> int:
        """Removes ``vector_column``'s index (default: the first vector
        column): one version, after which its files are searched by exact
        scan. Files are not rewritten (their old index bytes stay until
        :meth:`optimize` rewrites them); :meth:`create_index` adds one again.
        Returns the table's version."""
        return self._t.drop_index(str(vector_column))

    # Distributed work (``ailake.ray`` divides it among a cluster's workers).

    def stage_write(self, data: Any, deferred: bool = False) -> bytes:
        """Writes ``data`` as a data file of this table (with its index, or
        owing it when ``deferred``) without committing it; returns a
        description to pass to :meth:`commit_staged`, in this process or
        another. An ``ivf_pq`` column whose table has no codebook yet is
        written owing its index (one codebook is trained later for all files,
        :meth:`train_pending_codebooks`). Files never committed are removed
        by :meth:`cleanup`."""
        return self._t.stage_write(_arrow_data(data), bool(deferred))

    def commit_staged(self, staged: Sequence[bytes]) -> int:
        """Commits staged files as one append (one atomic version); returns
        it. Fails, committing nothing, if the schema changed meanwhile."""
        return self._t.commit_staged([bytes(s) for s in staged])

    def pending_files(self) -> List[str]:
        """Paths (relative to the table) of the latest version's data files
        that owe an index."""
        return list(self._t.pending_files())

    def train_pending_codebooks(self, num_threads: int = 0) -> int:
        """Trains and commits the shared IVF-PQ codebooks pending files owe;
        returns how many."""
        return self._t.train_pending_codebooks(int(num_threads))

    def build_pending_indexes_of(self, paths: Sequence[str], num_threads: int = 0) -> int:
        """Indexes the pending files among ``paths`` (each committed on its
        own; others untouched); returns how many were indexed."""
        return self._t.build_pending_indexes_of([str(p) for p in paths], int(num_threads))

    def to_arrow(self) -> pa.Table:
        return self.scan()

    def update(
        self,
        where: Optional[str] = None,
        values: Optional[Mapping[str, Any]] = None,
        *,
        values_sql: Optional[Mapping[str, str]] = None,
        params: Optional[Sequence[Any]] = None,
    ) -> int:
        """Sets columns of the live rows matching ``where`` (every row when
        None; ``?`` placeholders bound to ``params``): ``values`` maps columns
        to Python values (cast to the column's type; a vector column takes one
        vector), ``values_sql`` to expressions of the filter language
        evaluated per row (``{"price": "price * 1.1", "name": "upper(name)"}``).
        The changed rows are written again (vector columns re-indexed) and the
        old ones deleted in one version; a concurrent change of the same rows
        makes it run again on the newest version. Returns the rows updated."""
        from .changes import update

        return update(self, where, values, values_sql=values_sql, params=params)

    def merge_insert(self, on: Union[str, Sequence[str]]) -> Any:
        """An upsert keyed on column(s) ``on``, as LanceDB writes it:
        ``t.merge_insert("id").when_matched_update_all()
        .when_not_matched_insert_all().execute(data)``; also
        ``.when_not_matched_by_source_delete(where=None)``. One version, atomic;
        returns ``{"num_inserted_rows", "num_updated_rows", "num_deleted_rows"}``."""
        from .changes import MergeInsert

        return MergeInsert(self, on)

    def add(self, data: Any) -> "Table":
        """Appends ``data`` (a pyarrow Table/RecordBatch/reader, pandas or
        polars DataFrame, list of dicts, dict of columns, or an iterator of
        them; vector columns as lists or arrays, converted to the table's
        dimension) as one commit, each batch a data file indexed as it is
        written. Returns this table, moved to the new version."""
        from . import data as _data

        cols = self.vector_columns
        name = cols[0]["vector_column"] if cols else None
        dim = cols[0]["dim"] if cols else None
        staged = [self.stage_write(t) for t in _data.prepare(data, name, dim)]
        if staged:
            self.commit_staged(staged)
        return self.refresh()

    def to_pandas(self, columns: Optional[Sequence[str]] = None,
                  filter: Optional[str] = None) -> Any:
        """The live rows (optionally projected and filtered) as a pandas DataFrame."""
        return self.scan(columns, filter).to_pandas()

    def to_polars(self, columns: Optional[Sequence[str]] = None,
                  filter: Optional[str] = None) -> Any:
        """The live rows (optionally projected and filtered) as a polars DataFrame."""
        import polars

        return polars.from_arrow(self.scan(columns, filter))

    def head(self, n: int = 5, columns: Optional[Sequence[str]] = None) -> pa.Table:
        """The first ``n`` live rows (fragment order)."""
        if n < 0:
            raise ValueError(f"head needs n >= 0, got {n}")
        return self.scan(columns, limit=n)

    def count_rows(self, filter: Optional[str] = None) -> int:
        """Live rows, or those matching ``filter`` (reading one narrow column)."""
        if filter is None:
            return self.num_rows
        vectors = {c["vector_column"] for c in self.vector_columns}
        narrow = [f.name for f in self.schema if f.name not in vectors][:1]
        return self.scan(narrow or None, filter).num_rows

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"ailake.Table({self.uri!r}, version={self.version}, rows={self.num_rows})"


class Tags:
    """A table's tags (see :attr:`Table.tags`)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def list(self) -> Dict[str, int]:
        """Every tag and the version it names."""
        return dict(self._table._t.tags())

    def create(self, name: str, version: int) -> None:
        """Names ``version`` (which must exist); a name taken is an error."""
        self._table._t.create_tag(str(name), int(version))

    def delete(self, name: str) -> None:
        self._table._t.delete_tag(str(name))

    def __repr__(self) -> str:
        return f"ailake.Tags({self.list()!r})"


def open_table(
    path: Union[str, os.PathLike],
    version: Optional[int] = None,
    *,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Table:
    """Opens the table at ``path``: its newest version, or ``version``.

    ``path`` is a local directory or ``s3://bucket/prefix``. S3 settings come
    from ``storage_options``, then the standard AWS environment variables and
    profile files. Keys: ``aws_access_key_id``, ``aws_secret_access_key``,
    ``aws_session_token``, ``aws_region``, ``aws_endpoint`` (an S3-compatible
    server, e.g. ``"http://127.0.0.1:9000"``), ``allow_http`` (needed for an
    ``http://`` endpoint), ``connect_timeout`` and ``request_timeout``
    (seconds), ``max_retries``, and ``cache_bytes`` (capacity of the
    process-wide read cache of remote files). An unknown key is an error.
    """
    return Table(
        _ailake.Table.open(os.fspath(path), version, _storage_options(storage_options))
    )
