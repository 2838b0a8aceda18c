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


def iceberg_history_table(path, dim: int = 8):
    """A table whose versions go through appends, a deferred write, deletes, a
    rename, a drop, a second writer's append and an optimize (the history the
    Iceberg view's oracles read back). Returns the opened table."""
    import ailake

    rng = np.random.default_rng(11)
    x = rng.normal(size=(1200, dim)).astype(np.float32)

    def batch(lo, hi):
        ids = np.arange(lo, hi)
        return pa.table({"id": ids, "category": [f"c{i % 3}" for i in ids], "price": ids * 0.5})

    w = ailake.TableWriter(path, dim=dim, metric="euclidean", index="hnsw")
    w.write_batch(batch(0, 300), embeddings=x[:300])
    w.write_batch(batch(300, 600), embeddings=x[300:600])
    w.write_batch_deferred(batch(600, 900), embeddings=x[600:900])  # indexed later
    w.wait_for_indexing()
    w.close()
    t = ailake.open_table(path)
    t.delete("id < 50")
    t.delete("category = 'c1' and id > 800")
    t.rename_column("price", "cost")
    t.drop_columns(["category"])
    with ailake.TableWriter(path) as w2:
        w2.write_batch(pa.table({"id": np.arange(900, 1200), "cost": np.arange(900, 1200) * 0.5}),
                       embeddings=x[900:])
    t.refresh()
    t.optimize()
    return t.refresh()
