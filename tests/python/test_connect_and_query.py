"""ailake.connect, create_table/write_dataset from every data shape, Table.add
and the query builder (issue #15 item 1), checked against numpy brute force
and pyarrow, with LanceDB's call shapes."""
import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ailake


def _rows(n, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x, [{"id": i, "cat": ["a", "b", "c"][i % 3], "price": float(i % 50),
                "vector": x[i].tolist()} for i in range(n)]


def _is_f32_vectors(t, dim):
    return pa.types.is_fixed_size_list(t) and t.list_size == dim and t.value_type == pa.float32()


def _brute(x, q, k, keep=None):
    """Cosine distances (the default metric), nearest first."""
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = 1.0 - xn @ (q / np.linalg.norm(q))
    order = np.argsort(d, kind="stable")
    if keep is not None:
        order = [i for i in order if keep[i]]
    return list(order[:k]), d


def test_connect_create_open_names_drop(tmp_path):
    db = ailake.connect(tmp_path / "lake")
    assert db.table_names() == [] and len(db) == 0
    x, rows = _rows(300)
    t = db.create_table("docs", rows, index="flat")
    assert t.num_rows == 300 and _is_f32_vectors(t.schema.field("vector").type, 8)
    assert t.vector_columns[0]["dim"] == 8
    assert db.table_names() == ["docs"] and "docs" in db
    with pytest.raises(ValueError, match="already exists"):
        db.create_table("docs", rows)
    assert db.create_table("docs", rows[:5], mode="exist_ok").num_rows == 300
    assert db.create_table("docs", rows[:7], mode="overwrite").num_rows == 7
    assert db["docs"].num_rows == 7
    # A plain table (no vector column) and an empty table from a schema.
    db.create_table("plain", [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    schema = pa.schema([("id", pa.int64()), ("embedding", pa.list_(pa.float32(), 4))])
    empty = db.create_table("empty", schema=schema)
    assert empty.num_rows == 0 and empty.vector_columns[0]["dim"] == 4
    assert db.table_names() == ["docs", "empty", "plain"]
    assert db.open_table("plain").to_arrow().to_pylist() == [{"a": 1, "b": "x"},
                                                            {"a": 2, "b": "y"}]
    db.drop_table("plain")
    assert "plain" not in db
    db.drop_table("plain", ignore_missing=True)
    with pytest.raises(ValueError, match="no table 'nope'.*tables: \\['docs', 'empty'\\]"):
        db.open_table("nope")
    with pytest.raises(ValueError, match="table name"):
        db.create_table("../escape", rows)
    with pytest.raises(ValueError, match="mode 'replace'"):
        db.create_table("x", rows, mode="replace")


def test_every_data_shape_becomes_the_same_table(tmp_path):
    """pyarrow, pandas, polars, list of dicts, dict of columns, a
    RecordBatchReader and an iterator of batches; vectors as fixed-size
    lists, lists, large lists of f64 and numpy object columns: each table
    reads back equal to the same rows, vectors as float32."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    x, rows = _rows(120)
    base = pa.Table.from_pylist(rows)
    want = base.set_column(3, "vector", pa.FixedSizeListArray.from_arrays(
        pa.array(x.ravel()), 8)).to_pylist()
    shapes = {
        "arrow": base,
        "batch": base.to_batches()[0],
        "reader": pa.RecordBatchReader.from_batches(base.schema, base.to_batches(max_chunksize=50)),
        "iterator": iter(base.to_batches(max_chunksize=40)),
        "rows": rows,
        "columns": {c: base[c].to_pylist() for c in base.column_names},
        "pandas": pd.DataFrame({"id": base["id"].to_pylist(), "cat": base["cat"].to_pylist(),
                                "price": base["price"].to_pylist(),
                                "vector": list(x.astype(np.float64))}),
        "polars": pl.from_arrow(base),
        "large_f64": base.set_column(3, "vector", pa.array(
            x.astype(np.float64).tolist(), pa.large_list(pa.float64()))),
    }
    db = ailake.connect(tmp_path)
    for name, data in shapes.items():
        t = db.create_table(name, data, index="flat")
        got = t.to_arrow().sort_by("id")
        assert _is_f32_vectors(got.schema.field("vector").type, 8), name
        assert got.to_pylist() == want, name
    # An iterator of batches is one commit (create + one append).
    assert [v.operation for v in db["iterator"].versions()][-1] != "create"
    assert len(db["iterator"].versions()) == 2


def test_ragged_null_and_ambiguous_vectors_are_named(tmp_path):
    db = ailake.connect(tmp_path)
    rows = [{"id": i, "vector": [1.0, 2.0, 3.0]} for i in range(5)]
    rows[3]["vector"] = [1.0, 2.0]
    with pytest.raises(ValueError, match="vector column 'vector' row 3 has 2 values, expected 3"):
        db.create_table("r", rows)
    rows[3]["vector"] = None
    with pytest.raises(ValueError, match="row 3 is null"):
        db.create_table("r", rows)
    two = [{"a": [1.0, 2.0], "b": [3.0, 4.0]}]
    with pytest.raises(ValueError, match="several columns could be the vector column"):
        db.create_table("r", two)
    t = db.create_table("r", two, vector_column="b", index="flat")
    assert t.vector_columns[0]["vector_column"] == "b"
    with pytest.raises(TypeError, match="a list of rows must hold dicts; item 1"):
        db.create_table("s", [{"a": 1}, 5])


def test_add_appends_in_one_commit_with_the_tables_dimension(tmp_path):
    db = ailake.connect(tmp_path)
    x, rows = _rows(100)
    t = db.create_table("t", rows[:50], index="flat")
    v0 = t.version
    t.add(iter([pa.Table.from_pylist(rows[50:80]), rows[80:]]))
    assert t.version == v0 + 1 and t.num_rows == 100
    assert t.to_arrow().sort_by("id")["id"].to_pylist() == list(range(100))
    with pytest.raises(ValueError, match="row 0 has 3 values, expected 8"):
        t.add([{"id": 1, "cat": "a", "price": 1.0, "vector": [1.0, 2.0, 3.0]}])
    path = tmp_path / "w"
    ailake.write_dataset(rows[:10], path, index="flat")
    with pytest.raises(ValueError, match="already exists"):
        ailake.write_dataset(rows[:10], path)
    assert ailake.write_dataset(rows[10:30], path, mode="append").num_rows == 30
    assert ailake.write_dataset(rows[:3], path, mode="overwrite").num_rows == 3


def test_query_builder_matches_brute_force(tmp_path):
    db = ailake.connect(tmp_path)
    x, rows = _rows(500, seed=4)
    t = db.create_table("t", rows, index="flat")
    q = np.random.default_rng(9).normal(size=8).astype(np.float32)
    want, dist = _brute(x, q, 7)
    out = t.search(q).limit(7).with_row_id(True).to_arrow()
    assert out["id"].to_pylist() == want
    np.testing.assert_allclose(out["_distance"].to_numpy(), dist[want], rtol=1e-4, atol=1e-5)
    assert "_rowid" in out.column_names
    assert "_rowid" not in t.search(q).limit(3).to_arrow().column_names
    # The filter with bound parameters runs inside the search: k rows back.
    cheap = np.array([r["cat"] == "b" and r["price"] < 20 for r in rows])
    want_f, _ = _brute(x, q, 5, cheap)
    f = t.search(q).where("cat = ? AND price < ?", ["b", 20]).limit(5)
    assert [r["id"] for r in f.to_list()] == want_f
    assert f.select(["id"]).to_arrow().column_names == ["id", "_distance"]
    # A parameter is a value, never SQL.
    assert t.search(q).where("cat = ?", ["b' OR '1'='1"]).to_arrow().num_rows == 0
    # distance_range keeps [lower, upper) of the nearest limit rows.
    lo = float(dist[want[0]] + dist[want[1]]) / 2
    hi = float(dist[want[4]] + dist[want[5]]) / 2
    r = t.search(q).limit(7).distance_range(lo, hi).to_arrow()
    assert r["id"].to_pylist() == want[1:5]
    # pandas, polars, batches, exact, reuse, the shorthand.
    pd_out = t.search(q).limit(4).to_pandas()
    assert list(pd_out["id"]) == want[:4]
    pytest.importorskip("polars")
    assert t.search(q).limit(4).to_polars()["id"].to_list() == want[:4]
    assert t.search(q).limit(4).to_batches().read_all()["id"].to_pylist() == want[:4]
    assert t.search(q).bypass_vector_index().limit(4).to_arrow()["id"].to_pylist() == want[:4]
    base = t.search(q).limit(3)
    assert base.where("cat = 'a'").to_arrow().num_rows == 3 and base.to_arrow().num_rows == 3
    assert t.search(q, 7)["id"].to_pylist() == want
    # Many queries in one call carry their query's row.
    qs = np.stack([q, -q])
    many = t.search(qs).limit(2).to_arrow()
    assert many["_query"].to_pylist() == [0, 0, 1, 1]
    assert many["id"].to_pylist()[:2] == want[:2]


def test_explain_and_bad_settings(tmp_path):
    db = ailake.connect(tmp_path)
    x, rows = _rows(50)
    t = db.create_table("t", rows)
    plan = t.search(x[0]).where("price > ?", [3.5]).limit(4).ef(80).explain()
    assert "on 'vector' (dim 8, cosine, index hnsw)" in plan
    assert "filter: price > 3.5 (applied inside the search)" in plan
    assert "ef=80" in plan and "4 nearest" in plan
    with pytest.raises(ValueError, match="prefilter=False is not offered"):
        t.search(x[0]).where("price > 1", prefilter=False)
    with pytest.raises(ValueError, match="more \\? placeholders than the 1 parameters"):
        t.search(x[0]).where("a = ? AND b = ?", [1])
    with pytest.raises(ValueError, match="1 \\? placeholders for 2 parameters"):
        t.search(x[0]).where("a = ? AND b = '?'", [1, 2])
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        t.search(x[0]).where("a = ?", [[1]])
    with pytest.raises(ValueError, match="limit must be positive"):
        t.search(x[0]).limit(0)
    with pytest.raises(TypeError, match="unknown search parameters.*valid"):
        t.search(x[0], 3, efs=3)
    d = t.search(x[0]).where("price >= ?", [datetime.date(2020, 1, 2)])
    assert "DATE '2020-01-02'" in d.explain()


def test_the_documented_database_example_runs(tmp_path):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "ailake.connect(" in b and "t.versions()[-1]" not in b]
    ns = {"root": str(tmp_path / "lake")}
    exec(block, ns)
    assert ns["db"].table_names() == ["docs"]
    assert len(ns["hits"]) == 5
    assert all(h["topic"] == "sql" and h["id"] > 10 for h in ns["hits"])
    assert set(ns["hits"][0]) == {"id", "topic", "_distance"}
    assert "index hnsw" in ns["plan"]


def test_the_type_stubs_match_the_module():
    """python/ailake/__init__.pyi is checked against the module: every name
    the package exports and every public method of its classes is in the
    stubs, and the stubs name nothing the module lacks."""
    import ast
    import inspect
    import pathlib

    stub = ast.parse((pathlib.Path(ailake.__file__).resolve().parent /
                      "__init__.pyi").read_text())
    top, classes = set(), {}
    for node in stub.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
        if isinstance(node, ast.ImportFrom):
            top.update(a.asname or a.name for a in node.names)
        if isinstance(node, ast.AnnAssign):
            top.add(node.target.id)
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    assert set(ailake.__all__) - top == set(), "exported but not in the stubs"
    for name, methods in classes.items():
        cls = getattr(ailake, name)
        public = {m for m, _ in inspect.getmembers(cls)
                  if not m.startswith("_") or m in ("__init__", "__len__", "__enter__",
                                                    "__exit__")}
        public = {m for m in public if m in cls.__dict__ or m == "__init__"}
        assert public - methods == set(), f"{name}: methods missing from the stubs"
        assert {m for m in methods if not m.startswith("__")} - public == set(), \
            f"{name}: stubs name methods the class lacks"

    # Parameters too: every stubbed function and method takes the names the
    # module's does, in the same order.
    def params(fn):
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        names += [f"*{a.vararg.arg}"] if a.vararg else []
        names += [f"**{a.kwarg.arg}"] if a.kwarg else []
        return [n for n in names if n not in ("self", "cls")]

    def real_params(obj):
        out = []
        for p in inspect.signature(obj).parameters.values():
            if p.name in ("self", "cls"):
                continue
            out.append({p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name)
        return out

    checked = 0
    for node in stub.body:
        targets = []
        if isinstance(node, ast.FunctionDef):
            targets.append((node, getattr(ailake, node.name)))
        if isinstance(node, ast.ClassDef):
            cls = getattr(ailake, node.name)
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name in cls.__dict__:
                    member = cls.__dict__[fn.name]
                    member = getattr(member, "fget", None) or getattr(member, "__func__", member)
                    if callable(member):
                        targets.append((fn, member))
        for fn, real in targets:
            try:
                want = real_params(real)
            except (TypeError, ValueError):
                continue  # a builtin without a signature
            have = params(fn)
            if want and want[-1].startswith("**") and not (have and have[-1].startswith("**")):
                # The stubs spell out the keywords `**kwargs` accepts (ef=...).
                want = want[:-1]
                have = have[:len(want)]
            assert have == want, f"{node.name}.{fn.name}: stubs {params(fn)}, module {want}"
            checked += 1
    assert checked > 100

    # The extension's own stubs name what the compiled module has.
    ext = ast.parse((pathlib.Path(ailake.__file__).resolve().parent / "_ailake.pyi").read_text())
    for node in ext.body:
        if isinstance(node, ast.FunctionDef):
            assert hasattr(ailake._ailake, node.name), f"_ailake.{node.name} is not in the module"
        if isinstance(node, ast.ClassDef):
            cls = getattr(ailake._ailake, node.name)
            stubbed = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            real = {m for m in dir(cls) if not m.startswith("_")}
            assert stubbed - {"__init__"} - real == set(), f"_ailake.{node.name}: stubs name more"
            assert real - stubbed == set(), f"_ailake.{node.name}: methods missing from the stubs"


def _search_in_child(path, q):
    t = ailake.open_table(path)
    t.add([{"id": 10_000, "cat": "z", "price": 1.0, "vector": [float(v) for v in q]}])
    return t.search(q).limit(3).to_arrow()["id"].to_pylist()


def test_a_forked_process_searches_and_writes(tmp_path):
    """multiprocessing's default on Linux forks: a child of a process whose
    search and encode pools ran searches and writes through pools of its
    own (it used to hang on the parent's condition variables)."""
    import multiprocessing as mp

    x, rows = _rows(400, seed=2)
    t = ailake.connect(tmp_path).create_table("t", rows, storage_format="lance")
    q = x[3]
    assert t.search(q).limit(3).to_arrow()["id"].to_pylist()[0] == 3  # pools running
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        got = pool.starmap_async(_search_in_child, [(t.uri, q), (t.uri, q)]).get(timeout=120)
    assert all(g[0] in (3, 10_000) for g in got)
    assert t.refresh().num_rows == 402


def test_unknown_search_settings_name_the_valid_ones(tmp_path):
    """Table, File and Index searches refuse an unknown keyword the same way,
    listing the valid ones."""
    x, rows = _rows(50)
    t = ailake.connect(tmp_path).create_table("t", rows, index="flat")
    f = ailake.open_file(tmp_path / "t" / t.fragments()[0].files[0].path)
    ix = ailake.build_index(x, "flat", metric="cosine")
    for call in (lambda: t.search(x[0], 3, efs=3), lambda: f.search(x[0], 3, efs=3),
                 lambda: ix.search(x[:1], 3, efs=3)):
        with pytest.raises(TypeError, match=r"unknown search parameters: \['efs'\]; valid: "
                                            r"\['ef', 'nprobe', 'refine_factor'\]"):
            call()
