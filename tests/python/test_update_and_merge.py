"""Table.update and Table.merge_insert (issue #15 item 1): one version each,
atomic, checked against the same change applied to the data with pyarrow
(and DuckDB for values_sql), on Parquet and Lance tables; searches see the
new vectors; concurrent changes of the same rows are retried, not lost."""
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ailake


def _rows(n, start=0, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "cat": pa.array([["a", "b", "c"][i % 3] for i in range(start, start + n)]),
        "price": pa.array([float(i % 17) for i in range(start, start + n)]),
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(rng.normal(size=n * dim).astype(np.float32)), dim),
    })


@pytest.fixture(params=["parquet", "lance"])
def table(request, tmp_path):
    db = ailake.connect(tmp_path)
    t = db.create_table("t", _rows(60), index="flat", storage_format=request.param)
    t.add(_rows(40, start=60, seed=1))
    return t


def _by_id(t):
    rows = t.to_arrow().sort_by("id").to_pylist()
    for r in rows:
        r["vector"] = [round(x, 5) for x in r["vector"]]
    return rows


def test_update_values_and_sql(table):
    t = table
    before = {r["id"]: r for r in _by_id(t)}
    v0 = t.version
    n = t.update("cat = ? AND price > ?", {"price": 99}, params=["b", 5])
    want_ids = {i for i, r in before.items() if r["cat"] == "b" and r["price"] > 5}
    assert n == len(want_ids) and t.version == v0 + 1
    after = {r["id"]: r for r in _by_id(t)}
    assert set(after) == set(before)  # no row lost or doubled
    for i, r in after.items():
        assert r["price"] == (99.0 if i in want_ids else before[i]["price"])
        assert r["vector"] == before[i]["vector"] and r["cat"] == before[i]["cat"]
    assert t.versions()[-1].operation == "update"
    # values_sql: per-row expressions, as DuckDB computes them.
    duckdb = pytest.importorskip("duckdb")
    src = t.to_arrow().drop(["vector"])
    mid = {r["id"]: r for r in src.to_pylist()}
    con = duckdb.connect()
    con.register("src", src)
    want = dict(con.execute("SELECT id, CASE WHEN price < 10 THEN price * 2 + 1 ELSE price END "
                            "FROM src").fetchall())
    t.update("price < 10", values_sql={"price": "price * 2 + 1", "cat": "upper(cat)"})
    got = {r["id"]: r for r in t.to_arrow().drop(["vector"]).to_pylist()}
    assert {i: r["price"] for i, r in got.items()} == want
    for i, r in got.items():
        m = mid[i]
        assert r["cat"] == (m["cat"].upper() if m["price"] < 10 else m["cat"]), i
    assert t.update("id < 0", {"price": 1}) == 0


def test_update_a_vector_is_searched_at_its_new_place(table):
    t = table
    far = [100.0, 100.0, 100.0, 100.0]
    assert t.update("id = 7", {"vector": far}) == 1
    hit = t.search(np.array(far, np.float32), k=1)
    assert hit["id"].to_pylist() == [7]
    with pytest.raises(ValueError, match="takes 4 values, got 2"):
        t.update("id = 7", {"vector": [1.0, 2.0]})


def test_bad_updates_are_named(table):
    t = table
    with pytest.raises(ValueError, match="no column 'nope'"):
        t.update(None, {"nope": 1})
    with pytest.raises(ValueError, match="needs values"):
        t.update("id = 1")
    with pytest.raises(TypeError, match="does not fit column 'price'"):
        t.update("id = 1", {"price": "abc"})
    with pytest.raises(TypeError, match="column 'cat' \\(string\\)"):
        t.update("id = 1", values_sql={"price": "cat * 2"})
    assert t.num_rows == 100


def test_merge_insert_upserts_atomically(table):
    t = table
    before = {r["id"]: r for r in _by_id(t)}
    v0 = t.version
    src = _rows(30, start=85, seed=7)  # ids 85..114: 15 match, 15 new
    src = src.set_column(2, "price", pa.array([500.0] * 30))
    r = t.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(src)
    assert (r.num_inserted_rows, r.num_updated_rows, r.num_deleted_rows) == (15, 15, 0)
    assert r.version == t.version
    assert t.version == v0 + 1 and t.versions()[-1].operation == "merge"
    after = {r["id"]: r for r in _by_id(t)}
    assert set(after) == set(range(115))
    for i in range(115):
        assert after[i]["price"] == (500.0 if i >= 85 else before[i]["price"])
    # Insert-only leaves matches alone; delete-by-source removes the rest.
    r = t.merge_insert("id").when_not_matched_insert_all().execute(_rows(5, start=113))
    assert r.num_inserted_rows == 3 and t.num_rows == 118
    keep = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
    r = (t.merge_insert(["id"]).when_not_matched_by_source_delete("cat = 'a'")
         .execute(keep))
    left = {x["id"]: x for x in t.to_arrow().to_pylist()}
    assert all(x["cat"] != "a" or i in (1, 2, 3) for i, x in left.items())
    assert r.num_deleted_rows == 118 - len(left)


def test_merge_insert_refuses_ambiguous_sources(table):
    t = table
    dup = pa.concat_tables([_rows(2, start=5), _rows(1, start=5)])
    with pytest.raises(ValueError, match=r"key \{id=5\} appears 2 times"):
        t.merge_insert("id").when_matched_update_all().execute(dup)
    with pytest.raises(ValueError, match="does nothing"):
        t.merge_insert("id").execute(_rows(1))
    with pytest.raises(ValueError, match="no column 'nope'"):
        t.merge_insert("nope")
    assert t.num_rows == 100


def test_concurrent_updates_of_the_same_rows_are_retried_not_lost(tmp_path):
    """Four threads each add 1 to every row's counter 5 times: every
    increment lands (a lost update would leave less than 20)."""
    db = ailake.connect(tmp_path)
    db.create_table("c", pa.table({"id": pa.array(range(10), pa.int64()),
                                   "n": pa.array([0] * 10, pa.int64())}))
    errors = []

    def work():
        try:
            t = db.open_table("c")
            for _ in range(5):
                t.update(None, values_sql={"n": "n + 1"})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert db.open_table("c").to_arrow().sort_by("id")["n"].to_pylist() == [20] * 10


def test_cleanup_old_versions_by_age(tmp_path):
    """cleanup_old_versions keeps every version younger than older_than (and
    always the newest): a policy by time, not by count."""
    import datetime
    import time

    db = ailake.connect(tmp_path)
    t = db.create_table("t", _rows(10), index="flat")
    for i in range(3):
        t.add(_rows(5, start=100 + 10 * i))
    old = [v.version for v in t.versions()]
    assert t.cleanup_old_versions().versions_removed == 0  # 7 days by default
    time.sleep(2.2)
    t.add(_rows(5, start=500))
    t.update("id = 500", {"price": 1.5})
    young = [v.version for v in t.versions()][len(old):]
    r = t.cleanup_old_versions(datetime.timedelta(seconds=2))
    assert r.versions_removed == len(old)
    assert [v.version for v in t.versions()] == young
    assert t.num_rows == 30 and t.checkout(young[0]).num_rows == 30
    with pytest.raises(TypeError, match="timedelta"):
        t.cleanup_old_versions(7)
    # Only the newest is left when all are older.
    time.sleep(1.1)
    t.cleanup_old_versions(datetime.timedelta(seconds=1))
    assert [v.version for v in t.versions()] == [young[-1]]
    assert t.verify().ok


def test_tags_name_versions_and_survive_cleanup(tmp_path):
    db = ailake.connect(tmp_path)
    t = db.create_table("t", _rows(10), index="flat")
    v_first = t.version
    t.add(_rows(5, start=100))
    t.tags.create("first", v_first)
    t.tags.create("second", t.version)
    assert t.tags.list() == {"first": v_first, "second": v_first + 1}
    t.update(None, {"price": 0.5})
    with pytest.raises(FileExistsError, match="tag 'first' already exists"):
        t.tags.create("first", t.version)
    with pytest.raises(KeyError, match="no version 999"):
        t.tags.create("nope", 999)
    with pytest.raises(ValueError, match="tag name"):
        t.tags.create("../x", 1)
    # Cleanup of everything but the newest keeps the tagged versions.
    before = len(t.versions())
    r = t.cleanup(retain_versions=1, grace_seconds=0)
    assert sorted(v.version for v in t.versions()) == [v_first, v_first + 1, t.version]
    assert r.versions_removed == before - 3
    first = t.checkout("first")
    assert first.num_rows == 10 and first.to_arrow()["price"].to_pylist()[:3] == [0.0, 1.0, 2.0]
    assert t.checkout("second").num_rows == 15
    assert first.verify().ok
    t.tags.delete("first")
    with pytest.raises(KeyError, match="no tag 'first'"):
        t.checkout("first")
    with pytest.raises(KeyError, match="no tag 'first'"):
        t.tags.delete("first")
    t.cleanup(retain_versions=1, grace_seconds=0)
    assert sorted(v.version for v in t.versions()) == [v_first + 1, t.version]


def test_add_columns_from_sql_and_nulls_then_alter(table):
    """add_columns from SQL expressions (values as DuckDB computes them) and
    as null columns, in one version each; alter_columns renames."""
    duckdb = pytest.importorskip("duckdb")
    t = table
    v0 = t.version
    t.add_columns({"total": "price * 2 + id", "shout": "upper(cat)"})
    assert t.refresh().version == v0 + 1
    con = duckdb.connect()
    con.register("src", t.to_arrow().drop(["vector"]))
    want = con.execute("SELECT id, price * 2 + id, upper(cat) FROM src ORDER BY id").fetchall()
    got = t.to_arrow().sort_by("id")
    assert list(zip(got["id"].to_pylist(), got["total"].to_pylist(),
                    got["shout"].to_pylist())) == [tuple(r) for r in want]
    t.add_columns([pa.field("note", pa.string()), pa.field("score", pa.float32())])
    assert t.refresh().schema.field("note").type == pa.string()
    assert t.count_rows("note IS NULL AND score IS NULL") == t.num_rows
    # New rows may omit the nullable columns; searches and filters see them.
    t.add([{"id": 1000, "cat": "z", "price": 1.0, "vector": [0.0, 0.0, 0.0, 1.0],
            "total": 5.0, "shout": "Z"}])
    assert t.count_rows("total > 4.9 AND total < 5.1 AND shout = 'Z'") == 1
    t.alter_columns({"path": "shout", "rename": "loud"})
    assert "loud" in t.refresh().schema.names and "shout" not in t.schema.names
    # Several changes, one version. "note" holds nulls (as DuckDB counts
    # them), so it cannot be made not nullable: refused whole, nothing changes.
    con.register("now", t.to_arrow().drop(["vector"]))
    assert con.execute("SELECT count(*) FROM now WHERE note IS NULL").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM now WHERE loud IS NULL").fetchone()[0] == 0
    before = t.version
    with pytest.raises(ValueError, match="'note' holds .* nulls"):
        t.alter_columns({"path": "loud", "rename": "yell"}, {"path": "note", "nullable": False})
    assert t.refresh().version == before and "loud" in t.schema.names
    v = t.alter_columns({"path": "loud", "rename": "yell"}, {"path": "yell", "nullable": False},
                        {"path": "total", "rename": "sum"})
    assert v == before + 1 and t.refresh().version == v
    assert not t.schema.field("yell").nullable and t.schema.field("sum").nullable
    assert t.versions()[-1].operation == "alter_columns"
    # Appends with a null in it are refused from now on; without, accepted.
    row = {"id": 1001, "cat": "z", "price": 1.0, "vector": [0.0, 0.0, 1.0, 0.0], "sum": 1.0}
    nullable = pa.schema([f.with_nullable(True) for f in t.schema])
    with pytest.raises(ValueError, match="'yell' holds 1 nulls; the table's column is not nullable"):
        t.add(pa.Table.from_pylist([dict(row, yell=None)], schema=nullable))
    t.add([dict(row, yell="Y")])
    t.alter_columns({"path": "yell", "nullable": True})
    assert t.refresh().schema.field("yell").nullable
    with pytest.raises(NotImplementedError, match="data_type"):
        t.alter_columns({"path": "yell", "data_type": pa.int32()})
    with pytest.raises(ValueError, match="changes nothing"):
        t.alter_columns({"path": "yell"})
    with pytest.raises(KeyError, match="nope"):
        t.alter_columns({"path": "nope", "nullable": True})
    with pytest.raises(ValueError, match="exists already"):
        t.add_columns({"yell": "1"})
    with pytest.raises(TypeError, match="column 'cat' \\(string\\)"):
        t.add_columns({"bad": "cat * 2"})
    with pytest.raises(ValueError, match="not nullable"):
        t.add_columns([pa.field("x", pa.int32(), nullable=False)])
