"""Commit latency with and without the Iceberg view, over 1,000 versions.

Two ailake tables take the same commits in alternation (so machine noise
falls on both): one publishes its Iceberg view on every commit (the
default), the other has it switched off. Each commit appends 10 rows (one
in ten is a delete instead). Reported per window of 100 versions: median and
p95 commit latency of each, their ratio, and what the view adds on disk per
version. If SQLAlchemy is installed, pyiceberg's own append commit on a
SQLite catalog runs the same sequence as a third column (an Iceberg writer
publishing the same kind of metadata).

  .venv/bin/python bench/table/iceberg_commit.py [--build-dir build/release] [--versions 1000]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
ap.add_argument("--versions", type=int, default=1000)
ap.add_argument("--window", type=int, default=100)
args = ap.parse_args()
sys.path.insert(0, os.path.join(args.build_dir, "python"))
import ailake  # noqa: E402
import pyarrow as pa  # noqa: E402

try:
    from pyiceberg.catalog.sql import SqlCatalog  # needs SQLAlchemy
    import sqlalchemy  # noqa: F401
except ImportError:
    SqlCatalog = None

DIM = 8
rng = np.random.default_rng(0)
work = tempfile.mkdtemp()


def du(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def batch(i):
    ids = np.arange(10 * i, 10 * i + 10)
    return pa.table({"id": ids, "price": ids * 0.5}), rng.normal(size=(10, DIM)).astype("f4")


paths = {"view": os.path.join(work, "on"), "no view": os.path.join(work, "off")}
writers = {}
for name, p in paths.items():
    b, e = batch(0)
    w = ailake.TableWriter(p, dim=DIM, metric="euclidean", index="flat",
                           background_threads=0, auto_optimize=False)
    w.write_batch(b, embeddings=e)
    writers[name] = w
ailake.open_table(paths["no view"]).set_iceberg_view(False)
tables = {name: ailake.open_table(p) for name, p in paths.items()}

ice = None
if SqlCatalog is not None:
    wh = os.path.join(work, "ice")
    os.makedirs(wh)
    cat = SqlCatalog("bench", uri=f"sqlite:///{wh}/cat.db", warehouse=f"file://{wh}")
    cat.create_namespace("db")
    b, e = batch(0)
    arrow_schema = pa.schema([("id", pa.int64()), ("price", pa.float64()),
                              ("embedding", pa.binary(4 * DIM))])

    def ice_table(b, e):
        return pa.table({"id": b["id"], "price": b["price"],
                         "embedding": pa.array([r.tobytes() for r in e], pa.binary(4 * DIM))},
                        schema=arrow_schema)
    ice = cat.create_table("db.t", schema=arrow_schema)
    ice.append(ice_table(b, e))

names = list(paths) + (["pyiceberg"] if ice is not None else [])
lat = {n: [] for n in names}
view_bytes = [du(os.path.join(paths["view"], "metadata"))]
for i in range(1, args.versions):
    b, e = batch(i)
    order = names if i % 2 else names[::-1]
    for n in order:
        if i % 10 == 0 and n != "pyiceberg":
            tables[n].refresh()  # deletes the latest version's rows
        t0 = time.perf_counter()
        if i % 10 == 0:
            if n == "pyiceberg":
                ice.delete(f"id = {10 * (i - 5)}")
            else:
                assert tables[n].delete(f"id = {10 * (i - 5)}") == 1
        elif n == "pyiceberg":
            ice.append(ice_table(b, e))
        else:
            writers[n].write_batch(b, embeddings=e)
        lat[n].append(time.perf_counter() - t0)
    if (i + 1) % args.window == 0:
        view_bytes.append(du(os.path.join(paths["view"], "metadata")))
        lo = i + 1 - args.window
        row = [f"versions {lo + 1:5d}-{i + 1:5d}"]
        for n in names:
            w = np.array(lat[n][-args.window:]) * 1e3
            row.append(f"{n}: p50 {np.median(w):6.2f} ms p95 {np.percentile(w, 95):6.2f} ms")
        on = np.median(lat["view"][-args.window:])
        off = np.median(lat["no view"][-args.window:])
        row.append(f"view/no view p50 {on / off:4.2f}x")
        row.append(f"view +{(view_bytes[-1] - view_bytes[-2]) / args.window / 1024:6.1f} KiB/version")
        print(" | ".join(row), flush=True)

for w in writers.values():
    w.close()
t = ailake.open_table(paths["view"])
s = t.iceberg_view()
meta = os.path.join(paths["view"], "metadata")
files = sum(len(fs) for _, _, fs in os.walk(meta))
print(f"view: reflects version {s['published_version']}, current snapshot {s['current_snapshot_id']},"
      f" lag '{s['lag']}', {files} files, {du(meta) / 2**20:.1f} MiB under metadata/;"
      f" newest metadata file {os.path.getsize(s['metadata_path'][len('file://') if s['metadata_path'].startswith('file://') else 0:]) / 1024:.0f} KiB")
for n in names:
    a = np.array(lat[n]) * 1e3
    print(f"{n}: all {len(a)} commits p50 {np.median(a):.2f} ms p95 {np.percentile(a, 95):.2f} ms"
          f" total {a.sum() / 1e3:.1f} s")
t0 = time.perf_counter()
r = t.cleanup(retain_versions=10, grace_seconds=0)
print(f"cleanup(retain_versions=10): {r}, {time.perf_counter() - t0:.2f} s;"
      f" metadata/ now {du(meta) / 2**20:.2f} MiB,"
      f" {sum(len(fs) for _, _, fs in os.walk(meta))} files")
t0 = time.perf_counter()
with ailake.TableWriter(paths["view"]) as w:
    b, e = batch(args.versions)
    w.write_batch(b, embeddings=e)
print(f"next commit after cleanup: {(time.perf_counter() - t0) * 1e3:.2f} ms (writer open included)")
shutil.rmtree(work)
