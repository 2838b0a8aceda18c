"""The Iceberg view of a table (issue #13) read by Apache Spark through Iceberg's
own Java runtime (a Hadoop catalog over the folder that holds the table): every
version it publishes, by snapshot id and by timestamp, holds exactly the rows,
values and vector bytes an ailake scan of that version returns, and Spark's
filters and aggregates over it agree with ailake's.

Needs Java 17+, pyspark and Iceberg's Spark runtime jar, all installed by
scripts/bootstrap.sh (the jar in .cache/jars/, or $AILAKE_ICEBERG_SPARK_JAR);
this file downloads nothing and skips, naming what is missing, without them.
One local Spark session (a few seconds to start) serves every test here."""
import datetime
import glob
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pytest

import ailake
from ailake_testdata import iceberg_history_table

pytest.importorskip("pyspark", reason="pyspark is not installed (scripts/bootstrap.sh installs it)")

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIM = 8


def _iceberg_spark_jar() -> str:
    """The Iceberg runtime for Spark 3.5 / Scala 2.12 that the bootstrap cached."""
    env = os.environ.get("AILAKE_ICEBERG_SPARK_JAR")
    if env:
        if not os.path.isfile(env):
            pytest.fail(f"AILAKE_ICEBERG_SPARK_JAR={env} is not a file")
        return env
    jars = glob.glob(str(ROOT / ".cache" / "jars" / "iceberg-spark-runtime-3.5_2.12-*.jar"))
    if not jars:
        pytest.skip("Iceberg's Spark runtime jar is not in .cache/jars/ (run scripts/bootstrap.sh)")

    def version(path):
        v = pathlib.Path(path).stem.rsplit("-", 1)[1]
        return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))

    return max(jars, key=version)


def _require_java() -> None:
    """The java Spark will start ($JAVA_HOME/bin/java, else the one on PATH)
    exists and is 17 or newer (the version of Iceberg 1.12's class files)."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if java is None or not os.access(java, os.X_OK):
        pytest.skip("no Java runtime (scripts/bootstrap.sh installs openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    major = re.search(r'version "(\d+)', out)
    if major is None or int(major.group(1)) < 17:
        pytest.skip(f"{java} is not Java 17 or newer: {out.splitlines()[:1]}")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> pathlib.Path:
    """The Hadoop catalog's warehouse: Spark's cat.db.t is the folder db/t."""
    return tmp_path_factory.mktemp("warehouse")


@pytest.fixture(scope="module")
def spark(warehouse, tmp_path_factory):
    """One local SparkSession on 127.0.0.1 with catalog ``cat`` over ``warehouse``;
    its JVM is gone when the module's tests are done."""
    jar = _iceberg_spark_jar()
    _require_java()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("ailake-iceberg-view")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions",
                f"-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.io.tmpdir={scratch}")
        .config("spark.jars", jar)
        .config("spark.sql.extensions",
                "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.cat", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.cat.type", "hadoop")
        .config("spark.sql.catalog.cat.warehouse", str(warehouse))
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # what Spark binds and advertises
        mp.setenv("PYSPARK_SUBMIT_ARGS", "pyspark-shell")  # no --packages: nothing downloaded
        mp.delenv("SPARK_HOME", raising=False)  # the pip package's own Spark
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        # stop() leaves the JVM running for a later session; end it. The
        # gateway JVM exits when its stdin closes.
        gateway = SparkContext._gateway
        if gateway is not None:
            proc = gateway.proc
            gateway.shutdown()
            SparkContext._gateway = None
            SparkContext._jvm = None
            if proc is not None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture(scope="module")
def table(warehouse):
    """The table of test_iceberg_view.py's history (appends, a deferred write,
    deletes, a rename, a drop, a second writer, an optimize) at db/t, its view
    published by the commits themselves. Returns (table, view status)."""
    p = warehouse / "db" / "t"
    p.parent.mkdir()
    t = iceberg_history_table(p, dim=DIM)
    r = t.iceberg_view()
    assert r.lag is None and r.last_error is None, r
    assert r.published_version == r.current_snapshot_id == t.version
    return t, r


def _value_column(names):
    """The double column: "price" until the rename, "cost" after."""
    return "cost" if "cost" in names else "price"


def _rows(arrow: pa.Table):
    """{id: (other columns..., vector bytes)} of an ailake scan; vectors as the
    view stores them, little-endian f32."""
    out = {}
    cols = {n: arrow[n].to_pylist() for n in arrow.column_names if n != "embedding"}
    vecs = np.asarray(arrow["embedding"].combine_chunks().values.to_numpy(), dtype="<f4")
    vecs = vecs.reshape(-1, DIM)
    for i, rid in enumerate(cols["id"]):
        out[rid] = tuple(cols[n][i] for n in sorted(cols) if n != "id") + (vecs[i].tobytes(),)
    return out


def _spark_rows(rows, names):
    return {r["id"]: tuple(r[n] for n in sorted(names) if n not in ("id", "embedding"))
            + (bytes(r["embedding"]),) for r in rows}


def _agg(table, value):
    """count, sum(id), sum(value) of an ailake scan (sums None when empty, as SQL)."""
    n = table.num_rows
    return (n, sum(table["id"].to_pylist()) if n else None,
            sum(table[value].to_pylist()) if n else None)


def test_spark_reads_every_version_as_ailake_scans_it(spark, table):
    t, _ = table
    versions = [v.version for v in t.versions()]
    snaps = spark.sql("SELECT snapshot_id FROM cat.db.t.snapshots")
    assert sorted(r[0] for r in snaps.collect()) == versions
    for v in versions:
        want = t.checkout(v).scan()
        value = _value_column(want.column_names)
        # Time travel by snapshot id: the snapshot's own schema (price before the rename).
        got = spark.sql(f"SELECT count(*), sum(id), sum({value}) FROM cat.db.t VERSION AS OF {v}")
        assert tuple(got.collect()[0]) == _agg(want, value), f"version {v}"
        df = spark.sql(f"SELECT * FROM cat.db.t FOR SYSTEM_VERSION AS OF {v}")
        assert sorted(df.columns) == sorted(want.column_names), f"version {v}"
        assert _spark_rows(df.collect(), df.columns) == _rows(want), f"version {v}"


def test_the_current_version_and_its_metadata_aggregates(spark, table):
    t, r = table
    want = t.scan()
    assert tuple(spark.sql("SELECT count(*), sum(id), sum(cost) FROM cat.db.t").collect()[0]) \
        == _agg(want, "cost")
    # count/min/max alone may be answered from the manifests' record counts and bounds.
    ids = want["id"].to_pylist()
    got = spark.sql("SELECT count(*), min(id), max(id), min(cost), max(cost) FROM cat.db.t")
    assert tuple(got.collect()[0]) == (len(ids), min(ids), max(ids), min(ids) * 0.5, max(ids) * 0.5)
    # Spark's current schema: renamed, dropped, the vector as binary with its doc.
    fields = {f.name: f for f in spark.table("cat.db.t").schema.fields}
    assert sorted(fields) == ["cost", "embedding", "id"]
    assert fields["embedding"].dataType.typeName() == "binary"
    assert f"dim {DIM}" in fields["embedding"].metadata.get("comment", "")
    # The metadata file the catalog found through version-hint.text is the newest.
    files = [pathlib.Path(f[0].removeprefix("file:"))
             for f in spark.sql("SELECT file FROM cat.db.t.metadata_log_entries").collect()]
    newest = max(files, key=lambda f: int(f.name.split(".")[0][1:]))  # vN.metadata.json
    assert newest == pathlib.Path(r.metadata_path)


def test_time_travel_by_timestamp(spark, table):
    t, _ = table
    history = t.versions()
    # A version committed at least a millisecond (the view's unit) before the next.
    i = next(i for i in range(len(history) - 2, 0, -1)
             if history[i + 1].timestamp_micros // 1000 > history[i].timestamp_micros // 1000)
    v, micros = history[i].version, history[i].timestamp_micros
    at = datetime.datetime.fromtimestamp(micros / 1e6, tz=datetime.timezone.utc)
    literal = at.strftime("%Y-%m-%d %H:%M:%S.%f")
    want = t.checkout(v).scan()
    value = _value_column(want.column_names)
    got = spark.sql(f"SELECT count(*), sum(id), sum({value}) FROM cat.db.t "
                    f"TIMESTAMP AS OF '{literal}'")
    assert tuple(got.collect()[0]) == _agg(want, value), f"version {v} at {literal}"
    got = spark.sql(f"SELECT count(*) FROM cat.db.t FOR SYSTEM_TIME AS OF '{literal}'")
    assert got.collect()[0][0] == want.num_rows


def test_filtered_queries_agree(spark, table):
    t, _ = table
    for where in ("id >= 1000", "id >= 100 and id < 700 and cost > 200", "cost < 30"):
        want = t.scan(columns=["id", "cost"], filter=where)
        got = spark.sql(f"SELECT count(*), sum(id), sum(cost) FROM cat.db.t WHERE {where}")
        assert tuple(got.collect()[0]) == _agg(want, "cost"), where
    rows = spark.sql("SELECT id FROM cat.db.t WHERE id >= 1000").collect()
    assert sorted(r[0] for r in rows) == list(range(1000, 1200))
    # Filters on old snapshots through the names their columns had then (a
    # dropped "category", "price" before its rename): Iceberg binds them to the
    # snapshot's schema, the files' columns through the view's name mapping.
    for v in t.versions():
        v = v.version
        names = t.checkout(v).scan().column_names
        for where in ("category = 'c2' and id > 400", "price >= 100"):
            if where.split()[0] not in names:
                continue
            want = t.checkout(v).scan(filter=where)
            value = _value_column(want.column_names)
            got = spark.sql(f"SELECT count(*), sum(id), sum({value}) FROM cat.db.t "
                            f"VERSION AS OF {v} WHERE {where}")
            assert tuple(got.collect()[0]) == _agg(want, value), f"version {v}: {where}"


def test_vectors_are_fixed_binary_of_little_endian_f32(spark, table):
    t, _ = table
    some = [50, 51, 299, 300, 650, 899, 900, 1199]  # from each write and the optimize
    want = t.scan(columns=["id", "embedding"])
    vecs = want["embedding"].combine_chunks().values.to_numpy().reshape(-1, DIM)
    want_vecs = {i: vecs[k] for k, i in enumerate(want["id"].to_pylist()) if i in some}
    rows = spark.sql("SELECT id, embedding, length(embedding) AS n FROM cat.db.t "
                     f"WHERE id IN ({','.join(map(str, some))})").collect()
    assert sorted(r["id"] for r in rows) == sorted(want_vecs)
    for r in rows:
        assert r["n"] == 4 * DIM
        got = np.frombuffer(bytes(r["embedding"]), dtype="<f4")
        np.testing.assert_array_equal(got, want_vecs[r["id"]], err_msg=f"id {r['id']}")


def test_a_table_spark_wrote_with_position_deletes_reads_as_spark_reads_it(spark, warehouse):
    """The other way (issue #13 item 5): a plain Iceberg table Spark wrote,
    its deletes and updates merge-on-read (position-delete files), opened
    read-only by ailake: every snapshot equals Spark's read of it."""
    spark.sql("CREATE TABLE cat.db.s (id BIGINT, name STRING, score DOUBLE) USING iceberg "
              "TBLPROPERTIES ('format-version'='2', 'write.delete.mode'='merge-on-read', "
              "'write.update.mode'='merge-on-read')")
    spark.sql("INSERT INTO cat.db.s SELECT id, concat('n', id), id * 0.5 FROM range(0, 200)")
    spark.sql("INSERT INTO cat.db.s SELECT id, concat('n', id), id * 0.5 FROM range(200, 300)")
    spark.sql("DELETE FROM cat.db.s WHERE id % 7 = 0")
    spark.sql("UPDATE cat.db.s SET score = -1.0 WHERE id BETWEEN 100 AND 120")
    path = warehouse / "db" / "s"
    deletes = [f for f in (path / "data").iterdir() if "deletes" in f.name]
    assert deletes, "Spark wrote no position-delete file"
    t = ailake.open_iceberg(path)
    snaps = spark.sql("SELECT snapshot_id FROM cat.db.s.snapshots ORDER BY committed_at").collect()
    assert len(t.versions()) == len(snaps)
    for k, s in enumerate(snaps, start=1):
        want = sorted(tuple(r) for r in spark.sql(
            f"SELECT id, name, score FROM cat.db.s VERSION AS OF {s[0]}").collect())
        got = t.checkout(k).scan()
        got = sorted(zip(got["id"].to_pylist(), got["name"].to_pylist(), got["score"].to_pylist()))
        assert got == want, f"snapshot {s[0]}"
