"""The real-text corpus of the encoding benchmarks: the first `rows` Debian
package paragraphs (.cache/datasets/debian_texts.parquet) as id, package,
section, text and a struct meta{installed_size, priority}, with their 384-d
MiniLM embeddings (.cache/datasets/debian_minilm_20k.npy); both made by
scripts/datasets/."""
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def load(root, rows):
    """(rows table without the vectors, the vectors as float32 n x 384)."""
    texts = pq.read_table(os.path.join(root, ".cache", "datasets", "debian_texts.parquet"))
    x = np.load(os.path.join(root, ".cache", "datasets", "debian_minilm_20k.npy"))
    n = min(rows, x.shape[0])
    t = texts.slice(0, n)
    meta = pa.StructArray.from_arrays(
        [t["installed_size"].combine_chunks(), t["priority"].combine_chunks()],
        ["installed_size", "priority"])
    table = pa.table({"id": t["doc_id"], "package": t["package"], "section": t["section"],
                      "text": t["text"], "meta": meta})
    return table, np.ascontiguousarray(x[:n], dtype=np.float32)
