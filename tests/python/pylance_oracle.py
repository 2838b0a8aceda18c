"""pylance (the Lance project's own Python package) as an oracle, run in a
child process: pylance starts threads that make forking the test process
unsafe (it warns so), and later tests fork (Spark, Ray, pty). Tables travel
as Arrow IPC files.

    read(path, take=None, start=None, count=None) -> (pa.Table, {"num_rows", "metadata"})
    write(table, path, version)
"""
import json
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.ipc as ipc


def available() -> bool:
    r = subprocess.run([sys.executable, "-c", "import lance.file"], capture_output=True)
    return r.returncode == 0


def _run(args: dict) -> dict:
    r = subprocess.run([sys.executable, os.path.abspath(__file__), json.dumps(args)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"pylance child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def read(path, take=None, start=None, count=None):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "t.arrow")
        info = _run({"op": "read", "path": str(path), "out": out, "take": take,
                     "start": start, "count": count})
        with pa.memory_map(out) as f:
            return ipc.open_file(f).read_all(), info


def write(table: pa.Table, path, version: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.arrow")
        with ipc.new_file(src, table.schema) as w:
            w.write_table(table)
        _run({"op": "write", "path": str(path), "src": src, "version": version})


def _child(args: dict) -> dict:
    import lance.file as lf

    if args["op"] == "write":
        with pa.memory_map(args["src"]) as f:
            t = ipc.open_file(f).read_all()
        w = lf.LanceFileWriter(args["path"], t.schema, version=args["version"])
        w.write_batch(t)
        w.close()
        return {}
    r = lf.LanceFileReader(args["path"])
    if args["take"] is not None:
        t = r.take_rows(args["take"]).to_table()
    elif args["start"] is not None:
        t = r.read_range(args["start"], args["count"]).to_table()
    else:
        t = r.read_all().to_table()
    with ipc.new_file(args["out"], t.schema) as w:
        w.write_table(t)
    md = r.metadata().schema.metadata or {}
    return {"num_rows": r.num_rows(),
            "metadata": {k.decode(): v.decode(errors="replace") for k, v in md.items()}}


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
