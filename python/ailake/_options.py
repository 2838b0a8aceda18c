"""Settings handed to the extension module: the index policy of a vector
column, per-search index parameters, storage options, and the default metric.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

# ailake's one default metric: tables, the CLI, C++ and (since this release)
# Index.build and the Iceberg readers. Cosine because what users store are
# embeddings, which their models compare by angle; on unit-length vectors it
# ranks as euclidean does.
DEFAULT_METRIC = "cosine"

# Per-search index parameters: ef (HNSW), nprobe and refine_factor (IVF-PQ).
_INDEX_PARAM_KEYS = ("ef", "nprobe", "refine_factor")


def _check_search_params(index_params: Mapping[str, Any]) -> None:
    """Raises TypeError naming any key of ``index_params`` that is not a
    per-search index parameter."""
    unknown = set(index_params) - set(_INDEX_PARAM_KEYS)
    if unknown:
        raise TypeError(f"unknown search parameters: {sorted(unknown)}; valid: "
                        f"{list(_INDEX_PARAM_KEYS)}")


def _policy(
    vector_column: str,
    dim: int,
    metric: str,
    precision: str,
    index: Optional[str],
    params: Mapping[str, Any],
) -> Dict[str, Any]:
    """One vector column's index policy as the extension takes it: the
    index parameters ``params`` plus the column's settings."""
    d: Dict[str, Any] = dict(params)
    d.update(
        vector_column=vector_column, dim=int(dim), metric=metric, precision=precision, index=index
    )
    return d


def _storage_options(options: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """``options`` as strings (booleans as ``"true"`` / ``"false"``)."""
    out: Dict[str, str] = {}
    for k, v in (options or {}).items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        out[str(k)] = str(v)
    return out


def _metric(metric: Optional[str], where: str) -> str:
    """``metric``, or the default with a warning where the default changed."""
    if metric is not None:
        return metric
    import warnings

    warnings.warn(f"{where}: no metric given, so '{DEFAULT_METRIC}', ailake's one default "
                  "(tables, the CLI and C++ use it); before this release it was 'euclidean' "
                  "here. Pass metric= to choose (and silence this warning).", FutureWarning,
                  stacklevel=3)
    return DEFAULT_METRIC
