"""Small deterministic data and exact (numpy) nearest neighbours for the Python tests."""
import numpy as np
import pyarrow as pa

DIM = 32


def vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    """Clustered float32 vectors (a realistic shape for ANN recall)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(16, dim)).astype(np.float32) * 3
    x = centers[rng.integers(0, 16, size=n)] + rng.normal(size=(n, dim)).astype(np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def rows(start: int, vecs: np.ndarray) -> pa.Table:
    n = len(vecs)
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table(
        {
            "id": pa.array(ids),
            "category": pa.array((ids % 5).astype(np.int32)),
            "price": pa.array(ids.astype(np.float64) / 10.0),
            "name": pa.array([f"item {i}" for i in ids]),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), vecs.shape[1]),
        }
    )


def distances(metric: str, q: np.ndarray, x: np.ndarray) -> np.ndarray:
    q = q.astype(np.float64)
    x = x.astype(np.float64)
    if metric in ("euclidean", "l2"):
        return ((x - q) ** 2).sum(axis=1)
    if metric == "dot":
        return -(x @ q)
    if metric == "cosine":
        return 1.0 - (x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q) + 1e-30)
    raise ValueError(metric)


def exact_topk(metric: str, q: np.ndarray, x: np.ndarray, k: int, allowed=None) -> np.ndarray:
    d = distances(metric, q, x)
    if allowed is not None:
        d = np.where(allowed, d, np.inf)
    order = np.argsort(d, kind="stable")[:k]
    return order[np.isfinite(d[order])]


def recall(found, truth) -> float:
    return len(set(map(int, found)) & set(map(int, truth))) / max(1, len(truth))
