"""The process-wide read cache of remote file blocks (footers, index
sections, pages), shared by every remote table and file of the process.
"""
from __future__ import annotations

from . import _ailake


def set_read_cache_capacity(num_bytes: int) -> None:
    """Sets the capacity of the process-wide cache of remote file blocks
    (footers, index sections, pages); 0 disables it."""
    _ailake.set_read_cache_capacity(int(num_bytes))


def read_cache_used_bytes() -> int:
    """Bytes the process-wide read cache holds now."""
    return int(_ailake.read_cache_used_bytes())


def clear_read_cache() -> None:
    """Empties the process-wide read cache (a cold start, for benchmarks)."""
    _ailake.clear_read_cache()
