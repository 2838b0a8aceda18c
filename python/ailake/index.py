"""The index layer on its own, like FAISS: :class:`Index` (flat, HNSW,
IVF-PQ) over a numpy float32 matrix, built, searched in batches, saved and
loaded; :func:`build_index` and :func:`load_index` are the function forms.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

import numpy as np

from . import _ailake
from ._convert import _as_vectors
from ._options import _check_search_params, _metric, _policy
from .results import Hits


class Index:
    """A vector index over a float32 matrix (rows x dim), searched in batches.

    Build with :meth:`Index.build` (or :func:`build_index`), search with
    :meth:`search`, persist with :meth:`save` / :meth:`Index.load`. Row ids
    are positions in the matrix it was built from. The index keeps its own
    copy of the vectors.
    """

    def __init__(self, handle: Any) -> None:
        self._ix = handle

    @staticmethod
    def build(
        vectors: Any,
        index: str = "hnsw",
        metric: Optional[str] = None,
        *,
        num_threads: int = 0,
        **params: Any,
    ) -> "Index":
        """Builds ``index`` ("flat", "hnsw", "ivf_pq", "auto") under ``metric``
        ("cosine", the default, "euclidean", "dot", "normalized_cosine"). ``params``: ``m``,
        ``ef_construction``, ``ef_search`` (HNSW); ``nlist``, ``nprobe``,
        ``pq_m``, ``pq_bits`` (8, or 4 for fast-scan codes), ``refine_factor``
        (IVF-PQ); ``seed``."""
        x = _as_vectors(vectors)
        metric = _metric(metric, "Index.build")
        policy = _policy("embedding", x.shape[1], metric, "f32", index, params)
        return Index(_ailake.Index.build(x, policy, int(num_threads)))

    @staticmethod
    def load(path: Union[str, os.PathLike], memory_map: bool = True) -> "Index":
        """Opens an index saved by :meth:`save` (validated, nothing rebuilt)."""
        return Index(_ailake.Index.load(os.fspath(path), memory_map))

    def save(self, path: Union[str, os.PathLike]) -> None:
        self._ix.save(os.fspath(path))

    def search(
        self,
        queries: Any,
        k: int = 10,
        *,
        allowed: Any = None,
        num_threads: int = 0,
        **index_params: Any,
    ) -> "Hits":
        """The k nearest rows of each query: ``.ids`` and ``.distances``, each
        (num_queries, k); missing results are -1 / inf. ``allowed``: optional
        boolean mask of the rows that may be returned. (Unpacking the result
        as ``distances, ids`` is the deprecated form of earlier releases.)"""
        _check_search_params(index_params)
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        mask = None if allowed is None else np.ascontiguousarray(np.asarray(allowed, dtype=bool))
        distances, ids = self._ix.search(
            np.ascontiguousarray(q),
            int(k),
            int(index_params.get("ef", 0)),
            int(index_params.get("nprobe", 0)),
            int(index_params.get("refine_factor", 0)),
            mask,
            int(num_threads),
        )
        return Hits(ids, distances)

    @property
    def dim(self) -> int:
        return self._ix.dim

    @property
    def metric(self) -> str:
        return self._ix.metric

    @property
    def type(self) -> str:
        return self._ix.type

    def __len__(self) -> int:
        return self._ix.size

    def __repr__(self) -> str:
        return f"ailake.Index(type={self.type!r}, metric={self.metric!r}, dim={self.dim}, rows={len(self)})"


def build_index(vectors: Any, index: str = "hnsw", metric: Optional[str] = None,
                **params: Any) -> Index:
    """Same as :meth:`Index.build`."""
    return Index.build(vectors, index, _metric(metric, "build_index"), **params)


def load_index(path: Union[str, os.PathLike], memory_map: bool = True) -> Index:
    """Same as :meth:`Index.load`."""
    return Index.load(path, memory_map)

