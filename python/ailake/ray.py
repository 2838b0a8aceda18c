"""One ailake table, worked on by a Ray cluster.

- :func:`write_table`: Ray tasks write a dataset's blocks as data files (with
  their indexes) in parallel; the driver commits them all as one version.
  A task that dies leaves no version behind (its files, and those of the
  tasks that finished, are never committed; ``Table.cleanup`` removes them).
- :func:`build_indexes`: the indexes deferred writes owe, built by tasks in
  parallel (each file's index is committed on its own, so a failed task
  loses only its own files' work, which stays pending).
- :func:`optimize`: the table's merges, planned by the driver and run by
  tasks in parallel (each merge its own commit), then owed indexes.
- :func:`search`: tasks search disjoint sets of fragments and the driver
  merges their top-k exactly: for HNSW, flat and exact search the rows equal
  ``open_table(uri).search(q, k, ...)``; for IVF-PQ tables sharing one
  codebook each task re-ranks its own candidates (recall is that of a search
  with the same ``nprobe`` per share).

Works on local paths that every worker sees and on ``s3://`` URIs
(``storage_options`` as for :func:`ailake.open_table`). Needs ``ray``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa

import ailake

__all__ = ["write_table", "build_indexes", "optimize", "search"]


def _ray():
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is in the test requirements
        raise ImportError("ailake.ray needs the 'ray' package (pip install ray)") from e
    if not ray.is_initialized():
        raise RuntimeError("ailake.ray: call ray.init() first (a local or remote cluster)")
    return ray


def _parallelism(ray: Any, num_tasks: Optional[int]) -> int:
    if num_tasks is not None:
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be at least 1, not {num_tasks}")
        return int(num_tasks)
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _split(items: Sequence[Any], parts: int) -> List[List[Any]]:
    out: List[List[Any]] = [[] for _ in range(min(parts, len(items)) or 1)]
    for i, x in enumerate(items):
        out[i % len(out)].append(x)
    return [p for p in out if p]


def _stage_batch(batch: pa.Table, uri: str, version: int,
                 storage_options: Optional[Mapping[str, Any]], deferred: bool) -> pa.Table:
    t = ailake.open_table(uri, version, storage_options=storage_options)
    staged = t.stage_write(batch, deferred=deferred) if batch.num_rows else b""
    return pa.table({"staged": pa.array([staged], pa.binary()),
                     "rows": pa.array([batch.num_rows], pa.int64())})


def write_table(
    dataset: Any,
    uri: str,
    *,
    storage_options: Optional[Mapping[str, Any]] = None,
    deferred: bool = False,
    rows_per_file: Optional[int] = None,
    vector_column: str = "embedding",
    dim: Optional[int] = None,
    metric: str = "cosine",
    precision: str = "f32",
    index: Optional[str] = "hnsw",
    **index_params: Any,
) -> int:
    """Appends a Ray Dataset to the table at ``uri`` (created from the
    dataset's schema if missing, with the vector column settings of
    :class:`ailake.TableWriter`; to append to an existing table omit ``dim``,
    or give the settings it has: others are an error). Each block (or ``rows_per_file`` rows) is
    written as one data file by a Ray task; the driver then commits every
    file in one version, which it returns. ``deferred``: files are written
    without their index (see :func:`build_indexes`)."""
    ray = _ray()
    schema = dataset.schema()
    arrow_schema = getattr(schema, "base_schema", schema)
    if not isinstance(arrow_schema, pa.Schema):
        raise TypeError(f"write_table needs a dataset of Arrow rows, its schema is {schema!r}")
    table = None
    if dim is None and not index_params:
        # Appending: the table's own vector columns (as TableWriter does when
        # dim is omitted), not this function's defaults.
        try:
            table = ailake.open_table(uri, storage_options=storage_options)
        except (OSError, ValueError):
            table = None
    if table is None:
        table = ailake.create_table(uri, arrow_schema, vector_column, dim, metric, precision,
                                    index, storage_options=storage_options, **index_params)
    staged = dataset.map_batches(
        _stage_batch,
        batch_format="pyarrow",
        batch_size=rows_per_file,
        zero_copy_batch=True,
        fn_kwargs=dict(uri=uri, version=table.version, storage_options=storage_options,
                       deferred=deferred),
    )
    blobs = [r["staged"] for r in staged.take_all() if r["rows"] > 0]
    del ray
    if not blobs:
        return table.version
    return table.commit_staged(blobs)


def _build_share(uri: str, paths: List[str], storage_options: Optional[Mapping[str, Any]],
                 num_threads: int) -> int:
    t = ailake.open_table(uri, storage_options=storage_options)
    return t.build_pending_indexes_of(paths, num_threads)


def build_indexes(
    uri: str,
    *,
    storage_options: Optional[Mapping[str, Any]] = None,
    num_tasks: Optional[int] = None,
) -> int:
    """Builds the indexes owed by the table's pending files on the cluster:
    the shared IVF-PQ codebooks first (on the driver, one per column, from a
    sample of all pending files), then each task indexes a share of the files
    and commits each. Returns the number of files indexed."""
    ray = _ray()
    table = ailake.open_table(uri, storage_options=storage_options)
    table.train_pending_codebooks()
    paths = table.pending_files()
    if not paths:
        return 0
    task = ray.remote(_build_share)
    shares = _split(paths, _parallelism(ray, num_tasks))
    refs = [task.options(num_cpus=1).remote(uri, s, storage_options, 1) for s in shares]
    return int(sum(ray.get(refs)))


def _merge_share(uri: str, groups: List[List[int]],
                 storage_options: Optional[Mapping[str, Any]],
                 options: Dict[str, Any]) -> Dict[str, int]:
    t = ailake.open_table(uri, storage_options=storage_options)
    done = {"merges": 0, "fragments_removed": 0, "fragments_added": 0, "rows_rewritten": 0,
            "rows_dropped": 0, "conflicts": 0}
    for ids in groups:
        try:
            r = t.merge_fragments(ids, num_threads=1, **options)
        except Exception as e:  # a group changed meanwhile: planned again next round
            if "conflict" not in str(e).lower():
                raise
            done["conflicts"] += 1
            continue
        for key in ("merges", "fragments_removed", "fragments_added", "rows_rewritten",
                    "rows_dropped"):
            done[key] += int(getattr(r, key))
    return done


def optimize(
    uri: str,
    *,
    storage_options: Optional[Mapping[str, Any]] = None,
    num_tasks: Optional[int] = None,
    merge_factor: int = 10,
    max_rows_per_fragment: int = 1 << 20,
    max_deleted_fraction: float = 0.1,
    max_rounds: int = 32,
) -> Dict[str, int]:
    """``Table.optimize`` on the cluster: each round, the driver plans the
    merges (``Table.plan_optimize``) and tasks run disjoint shares of them,
    each merge committed on its own; rounds go on until no tier is full (at
    most ``max_rounds``). Then the owed indexes are built in parallel
    (:func:`build_indexes`). Returns the summed counts (``merges``,
    ``fragments_removed``, ``fragments_added``, ``rows_rewritten``,
    ``rows_dropped``, ``conflicts``, ``rounds``, ``indexes_built``)."""
    ray = _ray()
    options = dict(merge_factor=merge_factor, max_rows_per_fragment=max_rows_per_fragment,
                   max_deleted_fraction=max_deleted_fraction)
    task = ray.remote(_merge_share)
    total = {"merges": 0, "fragments_removed": 0, "fragments_added": 0, "rows_rewritten": 0,
             "rows_dropped": 0, "conflicts": 0, "rounds": 0}
    table = ailake.open_table(uri, storage_options=storage_options)
    for _ in range(max_rounds):
        groups = table.plan_optimize(**options)
        if not groups:
            break
        shares = _split(groups, _parallelism(ray, num_tasks))
        refs = [task.options(num_cpus=1).remote(uri, s, storage_options, options) for s in shares]
        for done in ray.get(refs):
            for key, v in done.items():
                total[key] += v
        total["rounds"] += 1
    total["indexes_built"] = build_indexes(uri, storage_options=storage_options,
                                           num_tasks=num_tasks)
    return total


def _search_share(uri: str, version: int, storage_options: Optional[Mapping[str, Any]],
                  queries: np.ndarray, k: int, filter: Optional[str],
                  columns: Optional[List[str]], fragment_ids: List[int],
                  options: Dict[str, Any]) -> pa.Table:
    t = ailake.open_table(uri, version, storage_options=storage_options)
    return t.search(queries, k, filter, columns, fragment_ids=fragment_ids, **options)


def search(
    uri: str,
    queries: Any,
    k: int = 10,
    filter: Optional[str] = None,
    columns: Optional[Sequence[str]] = None,
    *,
    storage_options: Optional[Mapping[str, Any]] = None,
    version: Optional[int] = None,
    num_tasks: Optional[int] = None,
    **search_options: Any,
) -> List[pa.Table]:
    """The k nearest rows to each query (a vector, or a matrix of one query
    per row), searched by Ray tasks over disjoint sets of the table's
    fragments, merged exactly on the driver. Returns one Arrow table per
    query, ascending by ``_distance``, with the columns of
    ``Table.search``. ``search_options``: ``exact``, ``prune``,
    ``vector_column``, ``ef``, ``nprobe``, ``refine_factor``."""
    ray = _ray()
    q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32))
    single = q.ndim == 1
    if single:
        q = q.reshape(1, -1)
    if q.ndim != 2 or q.shape[0] == 0:
        raise ValueError(f"queries must be a vector or a non-empty matrix, got shape {q.shape}")
    table = ailake.open_table(uri, version, storage_options=storage_options)
    fragments = [f.id for f in table.fragments()]
    if not fragments:
        return [table.search(q[i], k, filter, columns, **search_options) for i in range(len(q))]
    task = ray.remote(_search_share)
    q_ref = ray.put(q)
    cols = list(columns) if columns is not None else None
    refs = [
        task.options(num_cpus=1).remote(uri, table.version, storage_options, q_ref, int(k), filter,
                                        cols, share, dict(search_options))
        for share in _split(fragments, _parallelism(ray, num_tasks))
    ]
    merged = pa.concat_tables(ray.get(refs), promote_options="default")
    out: List[pa.Table] = []
    qcol = merged["_query"].to_numpy()
    for i in range(len(q)):
        part = merged.filter(pa.array(qcol == i))
        part = part.sort_by([("_distance", "ascending"), ("_rowid", "ascending")]).slice(0, k)
        out.append(part.drop_columns(["_query"]))
    return out
