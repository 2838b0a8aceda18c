"""The query builder: ``table.search(q)`` without a ``k`` returns a
:class:`Query`, refined step by step and run by one of its ``to_*`` methods,
as LanceDB users write it::

    t.search(q).where("price < ?", [10]).select(["name"]).limit(5).ef(64).to_pandas()

Each step returns a new Query (a Query is immutable, so one may be reused
and shared between threads). ``table.search(q, k, filter, columns)`` stays
the one-call form of the same search.
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def bind(sql: str, params: Sequence[Any]) -> str:
    """``sql`` with each ``?`` outside quotes replaced by ``params`` in turn,
    written as SQL literals (strings quoted with ``'`` doubled, numbers,
    booleans, NULL, ``DATE '…'`` / ``TIMESTAMP '…'``), so that values from
    users never become SQL. The count of ``?`` must equal ``len(params)``."""
    out: List[str] = []
    used = 0
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):  # a quoted string or identifier: copied as is
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise ValueError(f"unterminated quote starting at position {i} of {sql!r}")
            out.append(sql[i:j + 1])
            i = j + 1
            continue
        if c == "?":
            if used >= len(params):
                raise ValueError(f"{sql!r} has more ? placeholders than the "
                                 f"{len(params)} parameters given")
            out.append(_literal(params[used], used))
            used += 1
            i += 1
            continue
        out.append(c)
        i += 1
    if used != len(params):
        raise ValueError(f"{sql!r} has {used} ? placeholders for {len(params)} parameters")
    return "".join(out)


def _literal(v: Any, index: int) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f or f in (float("inf"), float("-inf")):
            raise ValueError(f"parameter {index} is {f}; filters take finite numbers")
        return repr(f)
    if isinstance(v, _decimal.Decimal):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, _dt.datetime):
        if v.tzinfo is not None:  # an instant: written in UTC, as the filter reads it
            v = v.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return "TIMESTAMP '" + v.isoformat(sep=" ") + "'"
    if isinstance(v, _dt.date):
        return "DATE '" + v.isoformat() + "'"
    raise TypeError(f"parameter {index} is a {type(v).__name__}; filters take None, bool, "
                    "int, float, Decimal, str, date or datetime")


class _Results:
    """The ``to_*`` forms shared by the text and hybrid builders."""

    def to_arrow(self) -> pa.Table:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def to_batches(self) -> pa.RecordBatchReader:
        t = self.to_arrow()
        return pa.RecordBatchReader.from_batches(t.schema, t.to_batches())

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars

        return polars.from_arrow(self.to_arrow())

    def to_list(self) -> List[Dict[str, Any]]:
        """The rows as dicts."""
        return self.to_arrow().to_pylist()


class Query(_Results):
    """A vector search being put together (see the module's doc). Nothing
    runs until ``to_arrow`` / ``to_pandas`` / ``to_polars`` / ``to_list`` /
    ``to_batches``; ``explain`` says how it would run."""

    _KEYS = ("k", "filter", "columns", "vector_column", "ef", "nprobe", "refine_factor",
             "lower", "upper", "with_row_id", "exact", "num_threads")

    def __init__(self, table: Any, query: Any, **state: Any) -> None:
        q = np.asarray(query, dtype=np.float32)
        if q.ndim not in (1, 2):
            raise ValueError(f"query must be one vector or a 2-D array of them, got shape "
                             f"{q.shape}")
        self._table = table
        self._q = q
        self._s: Dict[str, Any] = dict(k=10, filter=None, columns=None, vector_column="", ef=0,
                                       nprobe=0, refine_factor=0, lower=None, upper=None,
                                       with_row_id=False, exact=False, num_threads=0)
        unknown = set(state) - set(self._KEYS)
        if unknown:
            raise TypeError(f"unknown query settings {sorted(unknown)}; valid: {list(self._KEYS)}")
        self._s.update(state)

    def _with(self, **changes: Any) -> "Query":
        q = Query.__new__(Query)
        q._table, q._q, q._s = self._table, self._q, dict(self._s)
        q._s.update(changes)
        return q

    # ---- refinements ----

    def where(self, filter: str, params: Optional[Sequence[Any]] = None, *,
              prefilter: bool = True) -> "Query":
        """Only rows matching ``filter`` (SQL; ``?`` placeholders bound to
        ``params``). The filter runs inside the index search, so ``limit``
        rows come back whenever that many match (``prefilter=True``, the only
        form: filtering the k nearest afterwards returns fewer rows and is not
        offered)."""
        if not prefilter:
            raise ValueError("prefilter=False is not offered: ailake filters inside the index "
                             "search, which returns limit rows whenever that many match")
        if not isinstance(filter, str) or not filter.strip():
            raise ValueError("where() needs a non-empty SQL predicate")
        if params is not None:
            if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
                raise TypeError("params must be a list or tuple of values")
            filter = bind(filter, list(params))
        return self._with(filter=filter)

    def select(self, columns: Sequence[str]) -> "Query":
        """The columns returned (besides ``_distance``, and ``_rowid`` with
        ``with_row_id``)."""
        if isinstance(columns, str):
            raise TypeError("select() takes a list of column names")
        return self._with(columns=[str(c) for c in columns])

    def limit(self, k: int) -> "Query":
        """At most ``k`` rows per query (default 10)."""
        if int(k) <= 0:
            raise ValueError(f"limit must be positive, got {k}")
        return self._with(k=int(k))

    def column(self, vector_column: str) -> "Query":
        """Searches ``vector_column`` (tables with several)."""
        return self._with(vector_column=str(vector_column))

    def ef(self, ef: int) -> "Query":
        """HNSW's search breadth (more: better recall, slower)."""
        return self._with(ef=self._positive("ef", ef))

    def nprobes(self, n: int) -> "Query":
        """IVF-PQ lists probed per file."""
        return self._with(nprobe=self._positive("nprobes", n))

    def refine_factor(self, r: int) -> "Query":
        """IVF-PQ: re-ranks ``r * limit`` candidates by exact distance."""
        return self._with(refine_factor=self._positive("refine_factor", r))

    def distance_range(self, lower: Optional[float] = None,
                       upper: Optional[float] = None) -> "Query":
        """Only rows with ``lower <= _distance < upper`` (either bound may be
        None); applied to the nearest ``limit`` rows, so fewer may return."""
        if lower is not None and upper is not None and float(lower) > float(upper):
            raise ValueError(f"distance_range: lower {lower} above upper {upper}")
        return self._with(lower=None if lower is None else float(lower),
                          upper=None if upper is None else float(upper))

    def with_row_id(self, on: bool = True) -> "Query":
        """Adds ``_rowid`` (what ``Table.take`` accepts) to the results."""
        return self._with(with_row_id=bool(on))

    def bypass_vector_index(self) -> "Query":
        """Exact search: every live row's distance computed (ground truth)."""
        return self._with(exact=True)

    def threads(self, n: int) -> "Query":
        """Threads searching the table's files (0: all cores)."""
        return self._with(num_threads=int(n))

    @staticmethod
    def _positive(name: str, v: int) -> int:
        if int(v) <= 0:
            raise ValueError(f"{name} must be positive, got {v}")
        return int(v)

    # ---- results ----

    def to_arrow(self) -> pa.Table:
        s = self._s
        params = {k: s[k] for k in ("ef", "nprobe", "refine_factor") if s[k]}
        t = self._table.search(self._q, s["k"], s["filter"], s["columns"],
                               vector_column=s["vector_column"], exact=s["exact"],
                               num_threads=s["num_threads"], **params)
        if s["lower"] is not None or s["upper"] is not None:
            d = t.column("_distance")
            keep = pa.array(np.ones(t.num_rows, dtype=bool))
            if s["lower"] is not None:
                keep = pc.and_(keep, pc.greater_equal(d, s["lower"]))
            if s["upper"] is not None:
                keep = pc.and_(keep, pc.less(d, s["upper"]))
            t = t.filter(keep)
        if not s["with_row_id"] and "_rowid" in t.column_names:
            t = t.drop(["_rowid"])
        return t

    def explain(self) -> str:
        """How the search would run: the vector column and its metric and
        index, the files searched by index or scanned exactly, the filter
        and the settings; nothing is read."""
        s = self._s
        cols = self._table.vector_columns
        if not cols:
            raise ValueError("the table has no vector column to search")
        name = s["vector_column"] or cols[0]["vector_column"]
        col = next((c for c in cols if c["vector_column"] == name), None)
        if col is None:
            raise ValueError(f"no vector column '{name}'; the table has "
                             f"{[c['vector_column'] for c in cols]}")
        indexed = pending = 0
        for fr in self._table.fragments():
            for f in fr.files:
                if f.index_state == "pending":
                    pending += 1
                else:
                    indexed += 1
        nq = 1 if self._q.ndim == 1 else self._q.shape[0]
        lines = [
            f"vector search of {nq} quer{'y' if nq == 1 else 'ies'} on '{name}' "
            f"(dim {col['dim']}, {col['metric']}, index {col['index']}), "
            f"{s['k']} nearest per query",
            "  method: exact scan of every live row" if s["exact"] else
            f"  files: {indexed} searched by their index, {pending} scanned exactly "
            "(index pending)",
            f"  filter: {s['filter']} (applied inside the search)" if s["filter"] else
            "  filter: none",
        ]
        knobs = {k: s[k] for k in ("ef", "nprobe", "refine_factor") if s[k]}
        if knobs:
            lines.append("  settings: " + ", ".join(f"{k}={v}" for k, v in knobs.items()))
        if s["lower"] is not None or s["upper"] is not None:
            lines.append(f"  distance range: [{s['lower']}, {s['upper']}) on the results")
        lines.append("  columns: " + (", ".join(s["columns"]) if s["columns"] is not None
                                      else "all but vector columns") + ", _distance" +
                     (", _rowid" if s["with_row_id"] else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._s.items() if v not in (None, 0, False, "")}
        return f"ailake.Query({shown})"


_ANALYZER_SETTINGS = ("tokenizer", "stemmer", "stop_words", "lowercase", "max_token_bytes",
                      "cjk_ngram")


class _Refinable:
    """where / select / limit / with_row_id / text_column / analyzer, shared
    by the text and hybrid builders (each step returns a new builder)."""

    _s: Dict[str, Any]

    def _with(self, **changes: Any) -> Any:
        q = self.__class__.__new__(self.__class__)
        q.__dict__.update(self.__dict__)
        q._s = dict(self._s)
        q._s.update(changes)
        return q

    def where(self, filter: str, params: Optional[Sequence[Any]] = None) -> Any:
        """Only rows matching ``filter`` (SQL; ``?`` placeholders bound to
        ``params``), applied inside the search."""
        if not isinstance(filter, str) or not filter.strip():
            raise ValueError("where() needs a non-empty SQL predicate")
        if params is not None:
            if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
                raise TypeError("params must be a list or tuple of values")
            filter = bind(filter, list(params))
        return self._with(filter=filter)

    def select(self, columns: Sequence[str]) -> Any:
        """The columns returned (besides the search's own)."""
        if isinstance(columns, str):
            raise TypeError("select() takes a list of column names")
        return self._with(columns=[str(c) for c in columns])

    def limit(self, k: int) -> Any:
        """At most ``k`` rows (default 10)."""
        if int(k) <= 0:
            raise ValueError(f"limit must be positive, got {k}")
        return self._with(k=int(k))

    def with_row_id(self, on: bool = True) -> Any:
        """Keeps ``_rowid`` (what ``Table.take`` accepts) in the results."""
        return self._with(with_row_id=bool(on))

    def text_column(self, name: str) -> Any:
        """The text column searched (tables with several)."""
        return self._with(text_column=str(name))

    def analyzer(self, **settings: Any) -> Any:
        """The analyzer (``tokenizer``, ``stemmer``, ``stop_words``,
        ``lowercase``, ``max_token_bytes``, ``cjk_ngram``, as
        :meth:`ailake.TextIndex.build` takes them)."""
        unknown = set(settings) - set(_ANALYZER_SETTINGS)
        if unknown:
            raise TypeError(f"unknown analyzer settings {sorted(unknown)}; valid: "
                            f"{list(_ANALYZER_SETTINGS)}")
        return self._with(analyzer={**self._s["analyzer"], **settings})

    def _finish(self, t: pa.Table) -> pa.Table:
        if not self._s["with_row_id"] and "_rowid" in t.column_names:
            t = t.drop(["_rowid"])
        return t


class TextQuery(_Refinable, _Results):
    """A full-text search being put together: ``t.search("words",
    query_type="fts")`` (or any ``str`` query), refined with ``where``,
    ``select``, ``limit``, ``text_column``, ``analyzer`` and run by a ``to_*``
    method; rows descend by ``_score`` (BM25 with the table's statistics)."""

    def __init__(self, table: Any, query: str) -> None:
        if not isinstance(query, str):
            raise TypeError(f"a full-text query is a str, got {type(query).__name__}")
        self._table = table
        self._s: Dict[str, Any] = dict(query=query, k=10, filter=None, columns=None,
                                       text_column="", analyzer={}, with_row_id=False)

    def to_arrow(self) -> pa.Table:
        s = self._s
        return self._finish(self._table.search_text(
            s["query"], s["k"], s["filter"], s["columns"], text_column=s["text_column"],
            **s["analyzer"]))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._s.items() if v not in (None, 0, False, "", {})}
        return f"ailake.TextQuery({shown})"


class HybridQuery(_Refinable, _Results):
    """A hybrid search being put together, LanceDB's way:
    ``t.search(query_type="hybrid").vector(v).text("words").limit(5).to_pandas()``;
    ``rerank("rrf")`` (the default) or ``rerank("linear", text_weight=0.3)``
    chooses the fusion. Rows descend by ``_relevance_score``."""

    def __init__(self, table: Any, vector_column: str = "") -> None:
        self._table = table
        self._s: Dict[str, Any] = dict(vector=None, text=None, k=10, filter=None, columns=None,
                                       vector_column=vector_column, text_column="", analyzer={},
                                       with_row_id=False, fusion="rrf", rrf_k=60.0,
                                       text_weight=0.5, candidates=0, exact=False, ef=0,
                                       nprobe=0, refine_factor=0)

    def vector(self, v: Any) -> "HybridQuery":
        """The query vector."""
        q = np.asarray(v, dtype=np.float32)
        if q.ndim != 1:
            raise ValueError(f"a hybrid search takes one query vector, got shape {q.shape}")
        return self._with(vector=q)

    def text(self, query: str) -> "HybridQuery":
        """The full-text query."""
        if not isinstance(query, str):
            raise TypeError(f"a full-text query is a str, got {type(query).__name__}")
        return self._with(text=query)

    def rerank(self, fusion: str = "rrf", *, rrf_k: float = 60.0,
               text_weight: float = 0.5) -> "HybridQuery":
        """How the two rankings are fused: "rrf" (reciprocal rank, ``rrf_k``)
        or "linear" (``text_weight`` on the normalised BM25 score, the rest
        on the normalised vector similarity)."""
        if fusion not in ("rrf", "linear"):
            raise ValueError(f"fusion must be 'rrf' or 'linear', got {fusion!r}")
        return self._with(fusion=fusion, rrf_k=float(rrf_k), text_weight=float(text_weight))

    def candidates(self, n: int) -> "HybridQuery":
        """Rows each side contributes before fusion (default 2 * limit)."""
        if int(n) <= 0:
            raise ValueError(f"candidates must be positive, got {n}")
        return self._with(candidates=int(n))

    def column(self, vector_column: str) -> "HybridQuery":
        """The vector column searched (tables with several)."""
        return self._with(vector_column=str(vector_column))

    def ef(self, ef: int) -> "HybridQuery":
        """HNSW's search breadth for the vector side."""
        return self._with(ef=Query._positive("ef", ef))

    def bypass_vector_index(self) -> "HybridQuery":
        """The vector side ranked by exact distances (re-rank exactly)."""
        return self._with(exact=True)

    def to_arrow(self) -> pa.Table:
        s = self._s
        if s["vector"] is None or s["text"] is None:
            raise ValueError("a hybrid search needs both .vector(v) and .text(query)")
        params = {k: s[k] for k in ("ef", "nprobe", "refine_factor") if s[k]}
        return self._finish(self._table.search_hybrid(
            s["vector"], s["text"], s["k"], s["filter"], s["columns"], fusion=s["fusion"],
            rrf_k=s["rrf_k"], text_weight=s["text_weight"], candidates=s["candidates"],
            vector_column=s["vector_column"], exact=s["exact"], text_column=s["text_column"],
            **s["analyzer"], **params))

    def __repr__(self) -> str:
        shown = {k: (v.shape if isinstance(v, np.ndarray) else v) for k, v in self._s.items()
                 if v is not None and not (isinstance(v, (int, float, str, dict)) and not v)}
        return f"ailake.HybridQuery({shown})"
