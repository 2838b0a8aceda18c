"""Full-text and hybrid search over a table (Table.search_text,
Table.search_hybrid, t.search(..., query_type=...)). Oracle: Tantivy's BM25
over the table's live rows as one index, with an analyzer configured the same
way: a table split over several fragments, with deleted rows, must rank as
that one index does."""
import random

import numpy as np
import pyarrow as pa
import pytest

import ailake

tantivy = pytest.importorskip("tantivy")

from test_text_index import corpus, queries, same_top, tantivy_index, tantivy_top  # noqa: E402,F401

N_ROWS = 3000
DIM = 16


@pytest.fixture(scope="module")
def docs(corpus):
    return corpus[:N_ROWS]


@pytest.fixture(scope="module")
def vectors(docs):
    rng = np.random.default_rng(3)
    return rng.standard_normal((len(docs), DIM)).astype(np.float32)


@pytest.fixture()
def table(tmp_path, docs, vectors):
    """Four fragments, then rows with id % 7 == 3 deleted."""
    db = ailake.connect(tmp_path)
    def batch(lo, hi):
        return pa.table({
            "id": pa.array(range(lo, hi), pa.int64()),
            "body": pa.array(docs[lo:hi]),
            "group": pa.array([i % 4 for i in range(lo, hi)], pa.int32()),
            "mod7": pa.array([i % 7 for i in range(lo, hi)], pa.int32()),
            "vec": pa.FixedSizeListArray.from_arrays(pa.array(vectors[lo:hi].ravel()), DIM),
        })
    cuts = [0, 700, 1500, 2200, len(docs)]
    t = db.create_table("docs", batch(cuts[0], cuts[1]), vector_column="vec", metric="l2")
    for lo, hi in zip(cuts[1:-1], cuts[2:]):
        t = t.add(batch(lo, hi))
    assert t.delete("mod7 = 3") == sum(1 for i in range(len(docs)) if i % 7 == 3)
    t = t.refresh()
    assert len(t.fragments()) == 4
    return t


def live_ids(docs):
    return [i for i in range(len(docs)) if i % 7 != 3]


def test_table_ranks_as_one_tantivy_index(table, docs):
    ids = live_ids(docs)
    index, _ = tantivy_index([docs[i] for i in ids])
    qs = queries(docs, 200, 21) + ['"command line"', '"library for" +python', "+data -python",
                                   "graph*"]
    bad = []
    for q in qs:
        got = table.search_text(q, 10, stemmer="english", columns=["id"])
        ours = list(zip(got.column("id").to_pylist(), got.column("_score").to_pylist()))
        theirs = [(ids[i], s) for i, s in tantivy_top(index, q, 10)]
        if not same_top(ours, theirs, 10):
            bad.append((q, ours[:3], theirs[:3]))
    assert len(bad) <= 0.01 * len(qs), bad[:5]


def test_filters_apply_inside_the_search(table, docs):
    # Every row of group 1 matching the query, by score: the unfiltered search
    # with k large, filtered afterwards, is the oracle.
    everything = table.search_text("data", 5000, stemmer="english", columns=["id", "group"])
    want = [i for i, g in zip(everything.column("id").to_pylist(),
                              everything.column("group").to_pylist()) if g == 1][:25]
    assert len(want) == 25
    got = table.search_text("data", 25, "\"group\" = 1", ["id"], stemmer="english")
    assert got.column("id").to_pylist() == want
    assert got.column_names == ["id", "_score", "_rowid"]
    # Deleted rows never come back.
    assert all(i % 7 != 3 for i in everything.column("id").to_pylist())


def test_lancedb_style_builders(table, docs, vectors):
    q = table.search("library", query_type="fts")
    assert isinstance(q, ailake.TextQuery)
    rows = q.where("id < ?", [1000]).select(["id"]).limit(5).analyzer(stemmer="english").to_list()
    direct = table.search_text("library", 5, "id < 1000", ["id"], stemmer="english")
    assert [r["id"] for r in rows] == direct.column("id").to_pylist()
    assert set(rows[0]) == {"id", "_score"}
    # A str query is a text query without saying so.
    assert table.search("library", 3).num_rows == 3
    h = table.search(query_type="hybrid").vector(vectors[42]).text("library").limit(7)
    assert isinstance(h, ailake.HybridQuery)
    out = h.select(["id"]).to_arrow()
    assert out.num_rows == 7
    assert out.column_names == ["id", "_relevance_score", "_distance", "_score"]
    with pytest.raises(ValueError, match="needs both"):
        table.search(query_type="hybrid").text("library").to_arrow()
    with pytest.raises(ValueError, match="query_type"):
        table.search("x", query_type="bm25")


@pytest.mark.parametrize("fusion", ["rrf", "linear"])
def test_hybrid_fuses_the_two_searches(table, vectors, fusion):
    v = vectors[100]
    got = table.search_hybrid(v, "python library", 10, "\"group\" != 2", ["id"], fusion=fusion,
                              text_weight=0.3, exact=True)
    vec = table.search(v, 20, "\"group\" != 2", ["id"], exact=True)
    txt = table.search_text("python library", 20, "\"group\" != 2", ["id"])
    fused = {}
    vd = vec.column("_distance").to_pylist()
    ts = txt.column("_score").to_pylist()
    for rank, i in enumerate(vec.column("id").to_pylist()):
        fused[i] = fused.get(i, 0) + (1 / (61 + rank) if fusion == "rrf" else
                                      0.7 * (1 - (vd[rank] - min(vd)) / (max(vd) - min(vd))))
    for rank, i in enumerate(txt.column("id").to_pylist()):
        fused[i] = fused.get(i, 0) + (1 / (61 + rank) if fusion == "rrf" else
                                      0.3 * (ts[rank] - min(ts)) / (max(ts) - min(ts)))
    want = sorted(fused.items(), key=lambda kv: -kv[1])[:10]
    np.testing.assert_allclose(got.column("_relevance_score").to_numpy(),
                               [s for _, s in want], rtol=1e-5)
    assert got.column("id").to_pylist()[0] == want[0][0]
    assert all(i % 4 != 2 for i in got.column("id").to_pylist())


def test_errors_name_what_was_wrong(table):
    with pytest.raises(KeyError, match="nope"):
        table.search_text("x", text_column="nope")
    with pytest.raises(TypeError, match="not text"):
        table.search_text("x", text_column="group")
    with pytest.raises(ValueError, match="stemmer"):
        table.search_text("x", stemmer="klingon")
    with pytest.raises(ValueError, match="fusion"):
        table.search_hybrid(np.zeros(DIM, np.float32), "x", fusion="max")
    with pytest.raises(TypeError, match="analyzer"):
        table.search("x", query_type="fts").analyzer(stemer="english")


def test_the_documented_table_text_example_runs():
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
              if "t.search_text(" in b]
    assert len(blocks) == 1
    exec(blocks[0], {})


def test_cli_text_and_hybrid_search(cli, table, vectors):
    import json

    res = json.loads(cli("--json", "search", table.uri, "--text", "python library", "-k", "5",
                         "--stemmer", "english", "--columns", "id").stdout)
    direct = table.search_text("python library", 5, columns=["id"], stemmer="english")
    assert [r["id"] for r in res["rows"]] == direct.column("id").to_pylist()
    assert res["search"] == "text" and res["files"] == 4
    hyb = json.loads(cli("--json", "search", table.uri, "--text", "python library",
                         "--query-json", json.dumps(vectors[5].tolist()), "-k", "4",
                         "--fusion", "linear", "--filter", "id > 100", "--columns", "id").stdout)
    want = table.search_hybrid(vectors[5], "python library", 4, "id > 100", ["id"],
                               fusion="linear")
    assert [r["id"] for r in hyb["rows"]] == want.column("id").to_pylist()
    bad = cli("search", table.uri, "--text", "x", "--fusion", "max", check=False)
    assert bad.returncode != 0 and "--fusion" in bad.stderr


def test_fts_index_in_the_files_ranks_as_tantivy(table, docs):
    """create_fts_index writes the index into every data file; searches then
    read it in place (no analyzer named: the index's) and still rank as one
    Tantivy index; every Parquet engine reads the files as before."""
    import pyarrow.parquet as pq

    before = table.to_arrow().sort_by("id")
    v = table.create_fts_index("body", stemmer="english")
    assert v == table.version
    assert table.list_fts_indices() == [
        {"column": "body", "analyzer": table.list_fts_indices()[0]["analyzer"],
         "with_position": True}]
    assert "stemmer=english" in table.list_fts_indices()[0]["analyzer"]
    assert table.pending_files() == []
    paths = table.data_files()
    assert len(paths) == 4
    duckdb = pytest.importorskip("duckdb")
    for p in paths:
        if table.storage_format == "lance":
            # pylance reads the file as before (the index is one more global buffer).
            import pylance_oracle
            if pylance_oracle.available():
                got, info = pylance_oracle.read(p)
                assert info["num_rows"] == got.num_rows > 0
                assert "ailake.body.text_offset" in info["metadata"]
            continue
        md = pq.read_metadata(p).metadata
        assert b"ailake.body.text_offset" in md
        assert pq.read_table(p).num_rows == duckdb.sql(
            f"select count(*) from read_parquet('{p}')").fetchall()[0][0]
    assert table.to_arrow().sort_by("id").equals(before)
    assert table.verify().ok

    ids = live_ids(docs)
    index, _ = tantivy_index([docs[i] for i in ids])
    qs = queries(docs, 100, 22) + ['"command line"', "+data -python"]
    fresh = ailake.open_table(table.uri)
    bad = []
    for q in qs:
        got = fresh.search_text(q, 10, columns=["id"])
        ours = list(zip(got.column("id").to_pylist(), got.column("_score").to_pylist()))
        theirs = [(ids[i], s) for i, s in tantivy_top(index, q, 10)]
        if not same_top(ours, theirs, 10):
            bad.append((q, ours[:3], theirs[:3]))
    assert len(bad) <= 0.01 * len(qs), bad[:5]

    # Appends carry it; replace=False refuses a second one; drop removes it.
    t = fresh.add(pa.table({
        "id": pa.array([10**6], pa.int64()), "body": ["zyzzyva python"],
        "group": pa.array([0], pa.int32()), "mod7": pa.array([0], pa.int32()),
        "vec": pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(DIM, np.float32)), DIM)}))
    assert t.pending_files() == []
    assert t.search_text("zyzzyva", 3, columns=["id"]).column("id").to_pylist() == [10**6]
    with pytest.raises(ValueError, match="already have"):
        t.create_fts_index("body", replace=False)
    with pytest.raises(TypeError, match="not text"):
        t.create_fts_index("group")
    t.drop_fts_index("body")
    assert t.list_fts_indices() == []


def test_cli_create_index_fts(cli, table):
    import json

    res = json.loads(cli("--json", "create-index", table.uri, "--fts", "body",
                         "--stemmer", "english").stdout)
    assert res["text_column"] == "body" and res["files_indexed"] == 4
    assert res["files_pending"] == 0
    t = ailake.open_table(table.uri)
    assert [d["column"] for d in t.list_fts_indices()] == ["body"]
    info = json.loads(cli("--json", "info", table.uri).stdout)
    assert [d["column"] for d in info["text_indexes"]] == ["body"]
    assert "stemmer=english" in info["text_indexes"][0]["analyzer"]
    bad = cli("create-index", table.uri, "--fts", "body", "--stemmer", "klingon", check=False)
    assert bad.returncode != 0 and "klingon" in bad.stderr
    both = cli("create-index", table.uri, "--fts", "body", "--index", "hnsw", check=False)
    assert both.returncode != 0 and "--fts" in both.stderr
    dropped = json.loads(cli("--json", "drop-index", table.uri, "--fts", "body").stdout)
    assert dropped["text_column"] == "body"
    assert ailake.open_table(table.uri).list_fts_indices() == []
