"""Full-text indexes on their own: :class:`TextIndex` over a list of strings,
searched by BM25 with a small query language, saved as bytes, and several
searched as one with :func:`search_text_indexes` (statistics over all of them,
the way a table's files are searched).

The analysis runs through ICU (Unicode word segmentation, case mapping) and
libstemmer (Snowball stemmers); the analyzer is recorded in the index, so a
query is always analyzed the way the text was. docs/PYTHON.md
("Full-text search") has the pipeline, the query syntax and the scoring.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Sequence

import numpy as np

from . import _ailake

_ANALYZER_KEYS = ("tokenizer", "stemmer", "stop_words", "lowercase", "max_token_bytes", "cjk_ngram")


def _analyzer(tokenizer: str, stemmer: Optional[str], stop_words: Sequence[str],
              lowercase: bool, max_token_bytes: int, cjk_ngram: int) -> Dict[str, Any]:
    """The analyzer settings as the extension takes them."""
    if isinstance(stop_words, str):
        raise TypeError("stop_words is a list of words, not one string")
    return {
        "tokenizer": str(tokenizer),
        "stemmer": stemmer or "",
        "stop_words": [str(w) for w in stop_words],
        "lowercase": bool(lowercase),
        "max_token_bytes": int(max_token_bytes),
        "cjk_ngram": int(cjk_ngram),
    }


def _search_analyzer(tokenizer: Optional[str], stemmer: Optional[str],
                     stop_words: Optional[Sequence[str]], lowercase: Optional[bool],
                     max_token_bytes: Optional[int],
                     cjk_ngram: Optional[int]) -> Optional[Dict[str, Any]]:
    """A search's analyzer: None (the column's full-text index's, else the
    defaults) when no setting is given, else the settings given over the
    defaults."""
    given = (tokenizer, stemmer, stop_words, lowercase, max_token_bytes, cjk_ngram)
    if all(v is None for v in given):
        return None
    return _analyzer("simple" if tokenizer is None else tokenizer, stemmer,
                     () if stop_words is None else stop_words,
                     True if lowercase is None else lowercase,
                     40 if max_token_bytes is None else max_token_bytes,
                     0 if cjk_ngram is None else cjk_ngram)


@dataclass(frozen=True)
class TextHits:
    """Rows best first: ``ids`` (int64) and their BM25 ``scores`` (float32);
    ``parts`` (int64) says which index each row came from when several were
    searched together."""

    ids: np.ndarray
    scores: np.ndarray
    parts: Optional[np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


class TextIndex:
    """An inverted index over rows of text, searched by BM25.

    Row ids are positions in the sequence it was built from. Safe to share
    between threads (searches release the GIL)."""

    def __init__(self, handle: Any) -> None:
        self._ix = handle

    @staticmethod
    def build(
        texts: Iterable[Any],
        *,
        tokenizer: str = "simple",
        stemmer: Optional[str] = None,
        stop_words: Sequence[str] = (),
        lowercase: bool = True,
        max_token_bytes: int = 40,
        cjk_ngram: int = 0,
        positions: bool = True,
    ) -> "TextIndex":
        """Indexes ``texts``: each item a string, None (a row with no text) or a
        list of strings (one row's values). ``tokenizer``: "simple" (runs of
        letters and digits), "icu" (Unicode word boundaries, with ``cjk_ngram``
        1 or 2 to split Chinese, Japanese and Korean into character n-grams) or
        "whitespace". ``stemmer``: a Snowball language ("english", "french",
        ...) or None. Tokens of ``max_token_bytes`` bytes or more are dropped
        (0 keeps all). ``positions``: store term positions (phrase queries
        need them)."""
        analyzer = _analyzer(tokenizer, stemmer, stop_words, lowercase, max_token_bytes,
                             cjk_ngram)
        return TextIndex(_ailake.TextIndex.build(list(texts), analyzer, bool(positions)))

    @staticmethod
    def from_bytes(data: bytes) -> "TextIndex":
        """Opens the bytes :meth:`to_bytes` gave (validated, checksums checked)."""
        return TextIndex(_ailake.TextIndex.from_bytes(bytes(data)))

    def to_bytes(self) -> bytes:
        """The index blob (docs/FORMAT.md 3.6)."""
        return self._ix.to_bytes()

    def search(self, query: str, k: int = 10, *, allowed: Any = None) -> TextHits:
        """The k best rows for ``query`` by BM25. Syntax: ``word`` (should
        match), ``+word`` (must), ``-word`` (must not), ``"a phrase"``,
        ``pre*`` (prefix). ``allowed``: optional boolean mask of the rows that
        may be returned."""
        if int(k) < 1:
            raise ValueError("k must be at least 1")
        mask = None if allowed is None else np.ascontiguousarray(np.asarray(allowed, dtype=bool))
        ids, scores = self._ix.search(str(query), int(k), mask)
        return TextHits(ids, scores, None)

    @property
    def num_terms(self) -> int:
        return self._ix.num_terms

    @property
    def total_tokens(self) -> int:
        return self._ix.total_tokens

    @property
    def has_positions(self) -> bool:
        return self._ix.has_positions

    @property
    def nbytes(self) -> int:
        return self._ix.nbytes

    @property
    def analyzer(self) -> str:
        """The analyzer as recorded in the index (its text form)."""
        return self._ix.analyzer

    def __len__(self) -> int:
        return self._ix.num_rows

    def __repr__(self) -> str:
        return f"ailake.TextIndex(rows={len(self)}, terms={self.num_terms}, bytes={self.nbytes})"


def search_text_indexes(indexes: Sequence[TextIndex], query: str, k: int = 10) -> TextHits:
    """Searches several indexes built with the same analyzer as one: BM25
    statistics (rows, average length, document frequencies) summed over all
    of them, results merged by score; ``parts`` names the index of each row."""
    if int(k) < 1:
        raise ValueError("k must be at least 1")
    parts, ids, scores = _ailake.TextIndex.search_many([ix._ix for ix in indexes], str(query), int(k))
    return TextHits(ids, scores, parts)
