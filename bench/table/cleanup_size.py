"""On-disk bytes of a table against its live data files, before and after
Table.cleanup(): 20,000 real 384-d embeddings written in 8 deferred batches,
indexed in the background, then compacted.

  .venv-bench/bin/python bench/table/cleanup_size.py [--build-dir build/release]
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
ap.add_argument("--data", default=os.path.join(ROOT, ".cache", "datasets", "debian_minilm_20k.npy"))
args = ap.parse_args()
sys.path.insert(0, os.path.join(args.build_dir, "python"))
import ailake  # noqa: E402
import pyarrow as pa  # noqa: E402

x = np.load(args.data).astype('f4')
p = os.path.join(tempfile.mkdtemp(), 't')
def du(d): return sum(os.path.getsize(os.path.join(r,f)) for r,_,fs in os.walk(d) for f in fs)
w=ailake.TableWriter(p, dim=x.shape[1], metric="cosine", index="hnsw")
for s in range(0, len(x), 2500):
    t=pa.table({"id": pa.array(np.arange(s, s+2500), pa.int64()), "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x[s:s+2500].ravel()), x.shape[1])})
    w.write_batch_deferred(t)
w.wait_for_indexing(); w.close()
t=ailake.open_table(p)
live=sum(os.path.getsize(f) for f in t.data_files())
before=du(p)
print("versions", len(t.versions()), "live data bytes", live, "on disk", before, "ratio %.2f" % (before/live))
t.compact()
t=ailake.open_table(p); live=sum(os.path.getsize(f) for f in t.data_files()); mid=du(p)
print("after compact: live", live, "on disk", mid, "ratio %.2f" % (mid/live))
r=t.cleanup(grace_seconds=0)
after=du(p)
print(r, "after cleanup on disk", after, "ratio %.2f" % (after/live))
print("rows", t.num_rows, "search ok", ailake.open_table(p).search(x[7], k=1)["id"][0].as_py()==7)
shutil.rmtree(os.path.dirname(p))
