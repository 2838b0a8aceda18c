"""The filter language (issue #15 item 2) against DuckDB, an engine we did
not write: every filter below selects the same rows from an ailake table as
DuckDB's WHERE clause selects from the same Arrow data, through scans, counts,
deletes and filtered vector search. Bad filters are errors naming what is
wrong."""
import datetime

import numpy as np
import pyarrow as pa
import pytest

import ailake

duckdb = pytest.importorskip("duckdb")

FILTERS = [
    "price BETWEEN 10 AND 20",
    "price NOT BETWEEN 10 AND 20",
    "qty BETWEEN 3 AND 3",
    "name LIKE 'Ab%'",
    "name ILIKE 'ab%'",
    "name NOT ILIKE '%X%'",
    "qty * 2 + 1 > 50",
    "price / qty > 1.5",
    "-qty < -10",
    "price - qty >= 3.5",
    "qty - 1 = 4",
    "qty-1 = 4",
    "(price + 1) * 2 <= 30",
    "lower(name) = 'abc'",
    "upper(cat) IN ('A', 'B')",
    "length(name) BETWEEN 3 AND 4",
    "abs(price - 25) < 5",
    "coalesce(note, 'none') = 'none'",
    "coalesce(note, name) LIKE 'n%'",
    "day >= DATE '2024-01-15'",
    "day BETWEEN DATE '2024-01-10' AND DATE '2024-02-01'",
    "tsn < TIMESTAMP '2024-01-03 12:00:00'",
    "tsn >= TIMESTAMP '2024-01-05'",
    "meta.a > 5 AND meta.b = 'x'",
    "meta.a BETWEEN 2 AND 4 OR meta.b IS NULL",
    "note IS NULL OR price > 40",
    "NOT (cat = 'a' OR qty < 5)",
    "cat IN ('a', 'b') AND NOT name LIKE '%z%'",
    "price > -1.5e1 AND qty <> 7",
]


def _data(n=400):
    rng = np.random.default_rng(5)
    names = ["abc", "Abd", "xyz", "ABX", "nmo", "zed", "Abba", "quux"]
    t0 = datetime.datetime(2024, 1, 1)
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "price": pa.array(np.round(rng.random(n) * 50, 2)),
        "qty": pa.array(rng.integers(1, 30, n).astype(np.int32)),
        "cat": pa.array([["a", "b", "c"][i % 3] for i in range(n)]),
        "name": pa.array([names[i % len(names)] for i in range(n)]),
        "note": pa.array([None if i % 4 == 0 else f"n{i}" for i in range(n)]),
        "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 60)
                         for i in range(n)], pa.date32()),
        "tsn": pa.array([t0 + datetime.timedelta(hours=3 * i) for i in range(n)],
                        pa.timestamp("us")),
        "ts": pa.array([t0 + datetime.timedelta(hours=3 * i) for i in range(n)],
                       pa.timestamp("us", "UTC")),
        "meta": pa.array([{"a": i % 9, "b": None if i % 5 == 0 else "xy"[i % 2]}
                          for i in range(n)],
                         pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(rng.normal(size=n * 4).astype(np.float32)), 4),
    })


@pytest.fixture(scope="module", params=["parquet", "lance"])
def table(request, tmp_path_factory):
    data = _data()
    db = ailake.connect(tmp_path_factory.mktemp("filters"))
    t = db.create_table("t", data.slice(0, 200), index="flat", storage_format=request.param)
    t.add(data.slice(200))  # two fragments
    return t, data


def _duck(data, where):
    con = duckdb.connect()
    con.register("data", data.drop(["vector"]))
    return [r[0] for r in con.execute(f"SELECT id FROM data WHERE {where} ORDER BY id").fetchall()]


@pytest.mark.parametrize("where", FILTERS)
def test_filter_selects_what_duckdb_selects(table, where):
    t, data = table
    want = _duck(data, where)
    got = sorted(t.scan(columns=["id"], filter=where)["id"].to_pylist())
    assert got == want, where
    assert t.count_rows(where) == len(want)
    hits = t.search(np.ones(4, np.float32), k=10, filter=where, exact=True)
    assert set(hits["id"].to_pylist()) <= set(want)
    assert hits.num_rows == min(10, len(want))


def test_zoned_timestamps_compare_in_utc(table):
    t, data = table
    cut = datetime.datetime(2024, 1, 3, 12, tzinfo=datetime.timezone.utc)
    want = [i for i, v in enumerate(data["ts"].to_pylist()) if v < cut]
    got = sorted(t.scan(columns=["id"], filter="ts < TIMESTAMP '2024-01-03 12:00:00'")["id"]
                 .to_pylist())
    assert got == want and 0 < len(want) < data.num_rows


def test_delete_by_an_extended_filter(tmp_path):
    data = _data(120)
    t = ailake.connect(tmp_path).create_table("t", data, index="flat")
    where = "meta.a BETWEEN 2 AND 4 AND lower(name) LIKE 'ab%'"
    doomed = set(_duck(data, where))
    assert t.delete(where) == len(doomed)
    assert set(t.scan(columns=["id"])["id"].to_pylist()) == set(range(120)) - doomed


@pytest.mark.parametrize("where,err,match", [
    ("price = 'abc'", TypeError, r"column 'price' \(double\).*abc.*\(string\)"),
    ("day > '2024-01-01'", TypeError, r"column 'day' \(date32\[day\]\)"),
    ("lower(qty) = 'a'", TypeError, r"utf8_lower cannot take column 'qty' \(int32\)"),
    ("nope(price) > 1", ValueError, r"unknown function 'nope' at position 0"),
    ("price BETWEEN 1", ValueError, r"expected AND in BETWEEN"),
    ("day > DATE '2024-13-01'", ValueError, r"'2024-13-01' at position 11 is not a date"),
    ("meta. > 1", ValueError, r"a field name after '.'"),
    ("abs(price, qty) > 1", ValueError, r"takes one argument, not 2"),
    ("price + 1", TypeError, r"is double, not a condition"),
])
def test_bad_filters_are_named(table, where, err, match):
    t, _ = table
    with pytest.raises(err, match=match):
        t.scan(columns=["id"], filter=where)


def test_bound_parameters_of_every_type_filter_like_literals(table):
    """Query.where with ? parameters (strings with quotes, dates, zoned and
    naive datetimes, floats, None) selects what the same filter written by
    hand selects, and DuckDB with the same parameters."""
    t, data = table
    q = np.ones(4, np.float32)
    cases = [
        ("name = ? OR cat = ?", ["Abd", "c"]),
        ("day >= ? AND price < ?", [datetime.date(2024, 1, 20), 30.5]),
        ("tsn < ?", [datetime.datetime(2024, 1, 3, 12)]),
        ("ts < ?", [datetime.datetime(2024, 1, 3, 12, tzinfo=datetime.timezone.utc)]),
        ("note = ?", ["it's"]),
        ("meta.b IS NULL AND qty > ?", [3]),
    ]
    for where, params in cases:
        con = duckdb.connect()
        con.register("data", data.drop(["vector"]))
        want = {r[0] for r in con.execute(f"SELECT id FROM data WHERE {where}", params).fetchall()}
        got = t.search(q).where(where, params).limit(500).bypass_vector_index().to_arrow()
        assert set(got["id"].to_pylist()) == want, where
