"""Files in the Lance columnar file format written by ailake's encoding/
layer (issue #14), read by pylance's own LanceFileReader, an implementation
we did not write: every value of a type matrix with nulls and nesting, whole
reads, ranges and takes, one page per column or many small ones."""
import decimal

import numpy as np
import pyarrow as pa
import pytest

import ailake

import pylance_oracle as pylance

if not pylance.available():
    pytest.skip("pylance is not installed (requirements/dev.txt)", allow_module_level=True)


def _matrix(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("f4")
    w = rng.normal(size=(n, 128)).astype("f4")

    def fsl(v, dim, mask=None):
        return pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), dim, mask=mask)

    return pa.table({
        "b": pa.array([None if i % 7 == 0 else i % 3 == 0 for i in range(n)]),
        "i8": pa.array([(i % 200) - 100 for i in range(n)], pa.int8()),
        "u16": pa.array([i % 65000 for i in range(n)], pa.uint16()),
        "i32": pa.array([None if i % 10 == 3 else -i for i in range(n)], pa.int32()),
        "u64": pa.array([2**63 + i for i in range(n)], pa.uint64()),
        "h": pa.array((np.arange(n) % 1000).astype(np.float16)),
        "f": pa.array([None if i % 5 == 0 else i * 0.5 for i in range(n)], pa.float32()),
        "d": pa.array(rng.normal(size=n)),
        "date": pa.array(range(n), pa.date32()),
        "date64": pa.array([86_400_000 * i for i in range(n)], pa.date64()),
        "ts": pa.array(range(n), pa.timestamp("us", "UTC")),
        "ts_ns": pa.array([None if i % 3 == 0 else i for i in range(n)], pa.timestamp("ns")),
        "t": pa.array(range(n), pa.time64("us")),
        "dur": pa.array(range(n), pa.duration("ms")),
        "dec": pa.array([decimal.Decimal(i) / 100 if i % 9 else None for i in range(n)],
                        pa.decimal128(12, 2)),
        "fsb": pa.array([bytes([i % 256, 7, 9]) for i in range(n)], pa.binary(3)),
        "s": pa.array([None if i % 4 == 0 else "é" * (i % 13) for i in range(n)]),
        "ls": pa.array([f"row {i}" for i in range(n)], pa.large_string()),
        "bin": pa.array([None if i % 6 == 1 else bytes(range(i % 5)) for i in range(n)]),
        "lb": pa.array([b"x" * (i % 3) for i in range(n)], pa.large_binary()),
        "emb": fsl(x, 8),
        "emb_nulls": fsl(x, 8, pa.array([i % 11 == 0 for i in range(n)])),
        "wide": fsl(w, 128),
        # Lists: null and empty lists, null items, nesting, large offsets,
        # a list of structs and a struct holding a list.
        "li": pa.array([None if i % 9 == 4 else [j if j % 5 else None for j in range(i % 6)]
                        for i in range(n)], pa.list_(pa.int64())),
        "lstr": pa.array([[f"w{i}"] * (i % 4) if i % 7 else None for i in range(n)],
                         pa.large_list(pa.string())),
        "ll": pa.array([[[i, i + 1], [], None][: i % 4] if i % 13 else None for i in range(n)],
                       pa.list_(pa.list_(pa.int32()))),
        "lst": pa.array([[{"k": i, "v": str(i)}] * (i % 3) for i in range(n)],
                        pa.list_(pa.struct([("k", pa.int32()), ("v", pa.string())]))),
        "lvec": pa.array([[[1.0 * i] * 4] * (i % 3) for i in range(n)],
                         pa.list_(pa.list_(pa.float32(), 4))),
        "st": pa.array([{"a": i, "b": None if i % 6 == 0 else str(i),
                         "inner": {"v": float(i), "w": [1.0 * i, 2.0]}} for i in range(n)],
                       pa.struct([("a", pa.int32()), ("b", pa.string()),
                                  ("inner", pa.struct([("v", pa.float64()),
                                                       ("w", pa.list_(pa.float32(), 2))]))])),
    })


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2"])
@pytest.mark.parametrize("max_page_bytes", [8 << 20, 700])
def test_pylance_reads_every_type_we_write(tmp_path, max_page_bytes, version):
    t = _matrix(2000)
    path = tmp_path / "m.lance"
    ailake.write_lance_file(path, t, max_page_bytes=max_page_bytes, version=version)
    got, info = pylance.read(path)
    assert info["num_rows"] == t.num_rows
    assert got.column_names == t.column_names
    for name in t.column_names:
        assert got[name].type == t[name].type or name in ("emb", "emb_nulls", "wide"), name
        assert got[name].to_pylist() == t[name].to_pylist(), name
    rows = [0, 1, 699, 700, 1234, 1999]
    took, _ = pylance.read(path, take=rows)
    for name in t.column_names:
        assert took[name].to_pylist() == t[name].take(rows).to_pylist(), name
    part, _ = pylance.read(path, start=650, count=100)
    for name in t.column_names:
        assert part[name].to_pylist() == t[name].slice(650, 100).to_pylist(), name


def test_many_pages_keep_their_order_and_row_numbers(tmp_path):
    n = 50_000
    t = pa.table({"id": pa.array(np.arange(n)), "s": pa.array([str(i) for i in range(n)])})
    path = tmp_path / "p.lance"
    ailake.write_lance_file(path, t, max_page_bytes=4096)  # ~100 pages per column
    got, _ = pylance.read(path)
    assert got["id"].to_pylist() == list(range(n))
    assert got["s"].to_pylist() == [str(i) for i in range(n)]


def test_an_empty_table_and_schema_metadata(tmp_path):
    t = pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())})
    t = t.replace_schema_metadata({"origin": "ailake test"})
    path = tmp_path / "e.lance"
    ailake.write_lance_file(path, t)
    got, info = pylance.read(path)
    assert info["num_rows"] == 0
    assert got.num_rows == 0 and got.schema.names == ["a", "s"]
    assert info["metadata"]["origin"] == "ailake test"


def test_what_cannot_be_written_is_named(tmp_path):
    p = tmp_path / "bad.lance"
    with pytest.raises(NotImplementedError, match="field 'm'.*map"):
        ailake.write_lance_file(p, pa.table({"m": pa.array([[("a", 1)]], pa.map_(pa.string(),
                                                                              pa.int32()))}))
    with pytest.raises(NotImplementedError, match="struct field 'st' has 1 null rows"):
        ailake.write_lance_file(p, pa.table(
            {"st": pa.array([{"a": 1}, None], pa.struct([("a", pa.int32())]))}))
    with pytest.raises(NotImplementedError, match="field 'd'.*dictionary"):
        ailake.write_lance_file(p, pa.table({"d": pa.array(["a", "b"]).dictionary_encode()}))
    with pytest.raises(NotImplementedError, match="version '2.3'"):
        ailake.write_lance_file(p, pa.table({"a": [1]}), version="2.3")
    with pytest.raises(ValueError, match="max_page_bytes"):
        ailake.write_lance_file(p, pa.table({"a": [1]}), max_page_bytes=0)


def test_the_documented_example_runs(tmp_path):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "ailake.write_lance_file(" in b]
    # The example imports pylance: run it in a child process (see pylance_oracle).
    import subprocess
    import sys
    code = ("import pyarrow as pa, ailake, pathlib\n"
            f"lance_path = pathlib.Path({str(tmp_path / 'doc.lance')!r})\n" + block +
            "\nprint(back.to_pylist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    ns = {"back": pa.Table.from_pylist(eval(out.strip().splitlines()[-1]))}
    assert ns["back"].to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": None},
                                      {"id": 3, "name": "c"}]


@pytest.mark.parametrize("writer", ["ailake", "pylance 2.0", "pylance 2.1", "pylance 2.2"])
def test_our_decoder_reads_every_type(tmp_path, writer):
    """Our decoder on files we wrote (hundreds of pages per column) and on
    files pylance 14 wrote at versions 2.0 (flat, nullable, fixed-size list,
    binary, dictionary and struct pages), 2.1 and 2.2 (mini-block and
    full-zip pages with repetition and definition levels; bit packing,
    FSST, dictionaries, run lengths)."""
    t = _matrix(2000, seed=3)
    path = tmp_path / "r.lance"
    if writer == "ailake":
        ailake.write_lance_file(path, t, max_page_bytes=700)
    else:
        pylance.write(t, path, writer.split()[1])
    got = ailake.read_lance_file(path)
    assert got.schema.names == t.schema.names
    for name in t.column_names:
        assert got[name].to_pylist() == t[name].to_pylist(), name
    rows = [1999, 5, 5, 0, 700, 1234]
    took = ailake.read_lance_file(path, ["st", "s", "emb", "dec", "li", "ll", "lst"], rows=rows)
    assert took.column_names == ["st", "s", "emb", "dec", "li", "ll", "lst"]
    for name in took.column_names:
        assert took[name].to_pylist() == t[name].take(rows).to_pylist(), name
    part = ailake.read_lance_file(path, ["ls", "wide", "lstr", "lvec"], offset=650, length=100)
    for name in part.column_names:
        assert part[name].to_pylist() == t[name].slice(650, 100).to_pylist(), name


def test_later_versions_and_bad_bytes_are_named(tmp_path):
    t = pa.table({"a": pa.array(range(100)), "s": pa.array([str(i) for i in range(100)])})
    newer = tmp_path / "v23.lance"
    pylance.write(t, newer, "2.2")
    raw = bytearray(newer.read_bytes())
    raw[-6:-4] = (3).to_bytes(2, "little")  # the footer's minor version
    newer.write_bytes(bytes(raw))
    with pytest.raises(NotImplementedError, match="version 2.3"):
        ailake.read_lance_file(newer)
    ours = tmp_path / "ours.lance"
    ailake.write_lance_file(ours, t)
    good = ours.read_bytes()
    with pytest.raises(KeyError, match="no column 'nope'"):
        ailake.read_lance_file(ours, ["nope"])
    with pytest.raises(IndexError):
        ailake.read_lance_file(ours, rows=[100])
    bad = tmp_path / "bad.lance"
    bad.write_bytes(good[:-41])
    with pytest.raises(ValueError, match="LANC"):
        ailake.read_lance_file(bad)
    # Every single flipped byte: a value, a clear error, never a crash.
    rng = np.random.default_rng(0)
    for pos in rng.integers(0, len(good), size=300):
        b = bytearray(good)
        b[pos] ^= 0xFF
        bad.write_bytes(bytes(b))
        try:
            ailake.read_lance_file(bad)
        except (ValueError, NotImplementedError, KeyError, IndexError, OSError):
            pass


def test_where_pylance_chooses_the_same_encodings_the_files_are_byte_identical(tmp_path):
    n = 40
    x = np.random.default_rng(0).normal(size=(n, 4)).astype("f4")
    t = pa.table({
        "i": pa.array([None if i % 5 == 0 else i for i in range(n)], pa.int32()),
        "b": pa.array([i % 2 == 0 for i in range(n)]),
        "s": pa.array([None if i % 3 == 0 else "ab"[:i % 3] for i in range(n)]),
        "e": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 4),
        "st": pa.array([{"a": i, "b": str(i)} for i in range(n)],
                       pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "d": pa.array([decimal.Decimal(i) for i in range(n)], pa.decimal128(5, 0)),
    })
    ours, theirs = tmp_path / "ours.lance", tmp_path / "theirs.lance"
    ailake.write_lance_file(ours, t)
    pylance.write(t, theirs, "2.0")
    assert ours.read_bytes() == theirs.read_bytes()


def test_pages_without_bytes_all_null_or_all_empty(tmp_path):
    """A string page of only nulls or only empty strings stores no bytes; our
    decoder read it as an array without a data buffer, which Arrow rejects
    (found by a table append that filled a new column with nulls)."""
    t = pa.table({"nulls": pa.array([None] * 50, pa.string()),
                  "empty": pa.array([""] * 50),
                  "bin": pa.array([None, b""] * 25, pa.binary()),
                  "l": pa.array([None, []] * 25, pa.list_(pa.string()))})
    ours = tmp_path / "ours.lance"
    ailake.write_lance_file(ours, t)
    assert ailake.read_lance_file(ours).equals(t)
    assert ailake.read_lance_file(ours, rows=[49, 0, 7]).equals(t.take([49, 0, 7]))
    got, _ = pylance.read(ours)
    assert got.equals(t)
    theirs = tmp_path / "theirs.lance"
    pylance.write(t, theirs, "2.0")
    assert ailake.read_lance_file(theirs).equals(t)


@pytest.mark.parametrize("version", ["2.1", "2.2"])
def test_pylances_small_constant_and_nested_null_pages(tmp_path, version):
    """Pages pylance writes for data the type matrix lacks: fewer than 1024
    levels (levels bit-packed inline), one repeated value (2.2's constant
    pages, inline and in a buffer), all-null columns, null structs holding
    lists, nullable vectors (full-zip with control words) and many pages of
    long strings; read whole, as ranges and as takes."""
    rng = np.random.default_rng(7)
    for n in (300, 20_000):
        t = pa.table({
            "small": pa.array([None if i % 3 == 0 else i for i in range(n)], pa.int64()),
            "same": pa.array([5] * n, pa.int32()),
            "same_n": pa.array([None if i % 4 == 0 else 77 for i in range(n)], pa.int64()),
            "same_s": pa.array(["same"] * n),
            "same_b": pa.array([True] * n),
            "nulls": pa.nulls(n, pa.float64()),
            "nst": pa.array([None if i % 5 == 0 else
                             {"a": None if i % 3 == 0 else i, "b": [i % 100] * (i % 3) if i % 7 else None}
                             for i in range(n)],
                            pa.struct([("a", pa.int64()), ("b", pa.list_(pa.int16()))])),
            "vecn": pa.FixedSizeListArray.from_arrays(
                pa.array(rng.random(n * 64).astype("f4")), 64,
                mask=pa.array([i % 13 == 0 for i in range(n)])),
            "long": pa.array([None if i % 9 == 0 else "q" * (i % 700) for i in range(n)]),
            "sorted": pa.array(np.sort(rng.integers(0, 100, n)).astype(np.int16)),
        })
        path = tmp_path / f"s{n}.lance"
        pylance.write(t, path, version)
        got = ailake.read_lance_file(path)
        for name in t.column_names:
            assert got[name].to_pylist() == t[name].to_pylist(), (n, name)
        rows = [int(r) for r in rng.integers(0, n, 200)]
        took = ailake.read_lance_file(path, rows=rows)
        for name in t.column_names:
            assert took[name].to_pylist() == t[name].take(rows).to_pylist(), (n, name)
        part = ailake.read_lance_file(path, offset=n // 3, length=n // 2)
        for name in t.column_names:
            assert part[name].to_pylist() == t[name].slice(n // 3, n // 2).to_pylist(), (n, name)


def _hard_pages(n, seed=0):
    """Data that stresses 2.1's structure: lists longer than a chunk, runs
    of empty and null lists, null structs holding lists, all-null columns,
    long strings (zipped), repetitive text, few distinct strings, runs,
    small and negative integers, nullable vectors and vectors in lists."""
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    syllables = ["ka", "lo", "mir", "sun", "tha", "ve", "qua", "dro", "pen", "zi", "ul", "or"]
    return pa.table({
        "long_lists": pa.array([list(range(i % 7 * 900)) if i % 5 else [] for i in range(n)],
                               pa.list_(pa.int32())),
        "sparse": pa.array([[i] if i % 97 == 0 else (None if i % 2 else []) for i in range(n)],
                           pa.large_list(pa.int64())),
        "nst": pa.array([None if i % 5 == 0 else
                         {"a": None if i % 3 == 0 else i, "b": [str(i)] * (i % 3) if i % 7 else None}
                         for i in range(n)],
                        pa.struct([("a", pa.int64()), ("b", pa.list_(pa.string()))])),
        "nulls": pa.nulls(n, pa.int16()),
        "null_lists": pa.array([None] * n, pa.list_(pa.float32())),
        "big_text": pa.array([None if i % 9 == 0 else ("lorem ipsum %d " % i) * (i % 40)
                              for i in range(n)]),
        "text": pa.array([" ".join(words[(i + k) % 5] for k in range(i % 9)) for i in range(n)]),
        "logs": pa.array([f"GET /api/v1/items/{i * 7919} HTTP/1.1 200 {words[i % 5]}"
                          for i in range(n)]),
        "names": pa.array(["".join(syllables[k] for k in rng.integers(0, 12, 4)) for _ in range(n)]),
        "cat": pa.array([None if i % 10 == 0 else words[i % 3] for i in range(n)],
                        pa.large_string()),
        "runs": pa.array(np.repeat(np.arange(n // 50 + 1), 50)[:n].astype(np.int64)),
        "small": pa.array(rng.integers(0, 300, n).astype(np.uint32)),
        "neg": pa.array(rng.integers(-2**60, 2**60, n)),
        "f": pa.array(rng.random(n)),
        "flags": pa.array([None if i % 7 == 0 else i % 3 == 0 for i in range(n)]),
        "vec_nulls": pa.FixedSizeListArray.from_arrays(
            pa.array(rng.random(n * 96).astype("f4")), 96,
            mask=pa.array([i % 11 == 0 for i in range(n)])),
        "item_nulls": pa.FixedSizeListArray.from_arrays(
            pa.array([None if k % 5 == 0 else float(k) for k in range(n * 3)], pa.float64()), 3),
        "vec_lists": pa.array([[[float(i)] * 128] * (i % 3) for i in range(n)],
                              pa.list_(pa.list_(pa.float32(), 128))),
    })


@pytest.mark.parametrize("version", ["2.1", "2.2"])
def test_pylance_reads_the_hard_pages_we_write(tmp_path, version):
    """Our 2.1/2.2 writer on data whose levels, chunking, repetition indexes
    and compression choices are hard: pylance reads it whole, as takes and
    as ranges, equal to the input; so does our reader."""
    t = _hard_pages(3000)
    path = tmp_path / "h.lance"
    ailake.write_lance_file(path, t, version=version, max_page_bytes=1 << 20)
    got, info = pylance.read(path)
    assert info["num_rows"] == t.num_rows
    for name in t.column_names:
        assert got[name].to_pylist() == t[name].to_pylist(), name
    rows = [0, 1, 2, 1499, 1500, 2047, 2048, 2999]
    took, _ = pylance.read(path, take=rows)
    for name in t.column_names:
        assert took[name].to_pylist() == t[name].take(rows).to_pylist(), name
    part, _ = pylance.read(path, start=1000, count=1300)
    for name in t.column_names:
        assert part[name].to_pylist() == t[name].slice(1000, 1300).to_pylist(), name
    ours = ailake.read_lance_file(path)
    for name in t.column_names:
        assert ours[name].to_pylist() == t[name].to_pylist(), name
    ours = ailake.read_lance_file(path, rows=rows[::-1])
    for name in t.column_names:
        assert ours[name].to_pylist() == t[name].take(rows[::-1]).to_pylist(), name


def _packed(n, version, seed=3):
    """Packed structs (one column of whole rows, the seed's "packed form"):
    fixed-width scalars in every version; in 2.2 also vectors and strings
    inside the row; null struct rows where the version stores them."""
    rng = np.random.default_rng(seed)
    mask = None if version == "2.0" else pa.array([i % 7 == 3 for i in range(n)])
    fixed = pa.struct([("x", pa.uint32()), ("y", pa.float64()), ("d", pa.date32()),
                       ("z", pa.int8())])
    cols = {
        "id": pa.array(range(n), pa.int64()),
        "dims": pa.StructArray.from_arrays(
            [pa.array(rng.integers(0, 2**32, n).astype(np.uint32)), pa.array(rng.random(n)),
             pa.array(range(n), pa.date32()),
             pa.array(rng.integers(-128, 128, n).astype(np.int8))],
            fields=list(fixed), mask=mask),
    }
    fields = [pa.field("id", pa.int64()), pa.field("dims", fixed, metadata={"packed": "true"})]
    if version != "2.1":  # 2.1 packs fixed-width scalars only; 2.0 no strings
        inner = pa.struct([("k", pa.int32()), ("v", pa.list_(pa.float32(), 3))] +
                          ([("name", pa.string())] if version == "2.2" else []))
        children = [pa.array(range(n), pa.int32()),
                    pa.FixedSizeListArray.from_arrays(pa.array(rng.random(3 * n).astype("f4")), 3)]
        if version == "2.2":
            children.append(pa.array(["n" * (i % 11) + str(i) for i in range(n)]))
        cols["mixed"] = pa.StructArray.from_arrays(children, fields=list(inner), mask=mask)
        fields.append(pa.field("mixed", inner, metadata={"lance-encoding:packed": "TRUE"}))
    return pa.Table.from_arrays(list(cols.values()), schema=pa.schema(fields))


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2"])
def test_packed_structs_both_ways(tmp_path, version):
    """A packed struct is one column of whole rows. pylance reads ours and we
    read pylance's, whole, as takes and as ranges; both writers give the
    field one column (the struct's), its children none."""
    n = 5000
    t = _packed(n, version)
    rows = [0, 3, 10, 999, 1000, 2500, 4999]
    ours, theirs = tmp_path / "ours.lance", tmp_path / "theirs.lance"
    ailake.write_lance_file(ours, t, version=version, max_page_bytes=64 << 10)
    pylance.write(t, theirs, version)
    for path in (ours, theirs):
        got, info = pylance.read(path)
        assert info["num_rows"] == n
        assert got.select(t.column_names).to_pylist() == t.to_pylist()
        mine = ailake.read_lance_file(path)
        assert mine.to_pylist() == t.to_pylist(), path
        assert mine.schema.field("dims").type == t.schema.field("dims").type
        assert ailake.read_lance_file(path, rows=rows).to_pylist() == t.take(rows).to_pylist()
        part = ailake.read_lance_file(path, columns=["dims"], offset=1234, length=2000)
        assert part["dims"].to_pylist() == t["dims"].slice(1234, 2000).to_pylist()
    took, _ = pylance.read(ours, take=rows)
    assert took.select(t.column_names).to_pylist() == t.take(rows).to_pylist()


def test_what_cannot_be_packed_is_named(tmp_path):
    """Nulls inside a packed row, children a version cannot pack, and null
    struct rows in 2.0 are errors naming the field and child."""
    inner = pa.struct([("a", pa.int32()), ("b", pa.int16())])
    f = pa.field("p", inner, metadata={"packed": "true"})
    t = pa.Table.from_arrays([pa.StructArray.from_arrays(
        [pa.array([1, None, 3], pa.int32()), pa.array([1, 2, 3], pa.int16())], fields=list(inner))],
        schema=pa.schema([f]))
    for v in ("2.0", "2.1", "2.2"):
        with pytest.raises(ValueError, match=r"packed struct 'p'.*child 'a' is null at row 1"):
            ailake.write_lance_file(tmp_path / f"n{v}.lance", t, version=v)
    vec = pa.struct([("a", pa.int32()), ("v", pa.list_(pa.float32(), 2))])
    tv = pa.table({"p": pa.array([{"a": 1, "v": [1.0, 2.0]}], vec)}).cast(
        pa.schema([pa.field("p", vec, metadata={"packed": "true"})]))
    with pytest.raises(NotImplementedError, match=r"child 'v'.*needs Lance file version 2.2"):
        ailake.write_lance_file(tmp_path / "v.lance", tv, version="2.1")
    ts = pa.table({"p": pa.array([{"a": 1, "s": "x"}], pa.struct([("a", pa.int32()),
                                                                   ("s", pa.string())]))})
    ts = ts.cast(pa.schema([pa.field("p", ts.schema.field("p").type, metadata={"packed": "true"})]))
    with pytest.raises(NotImplementedError, match=r"child 's' of type string"):
        ailake.write_lance_file(tmp_path / "s.lance", ts, version="2.0")
    tn = pa.Table.from_arrays([pa.StructArray.from_arrays(
        [pa.array([1, 2], pa.int32()), pa.array([1, 2], pa.int16())], fields=list(inner),
        mask=pa.array([False, True]))], schema=pa.schema([f]))
    with pytest.raises(NotImplementedError, match=r"packed struct 'p' has null rows"):
        ailake.write_lance_file(tmp_path / "r.lance", tn, version="2.0")


def test_a_lance_table_keeps_packed_structs(tmp_path):
    """A table with storage_format="lance" stores a packed struct field as one
    column of its data files (pylance counts three columns for three
    fields), and scans and takes it back."""
    import glob
    st = pa.struct([("x", pa.int32()), ("y", pa.float64())])
    sch = pa.schema([pa.field("id", pa.int64()), pa.field("p", st, metadata={"packed": "true"}),
                     pa.field("embedding", pa.list_(pa.float32(), 4))])
    n = 300
    t = pa.Table.from_arrays([
        pa.array(range(n)),
        pa.StructArray.from_arrays([pa.array(range(n), pa.int32()),
                                    pa.array([i * .5 for i in range(n)])], fields=list(st)),
        pa.FixedSizeListArray.from_arrays(
            pa.array(np.random.default_rng(1).random(4 * n).astype("f4")), 4)], schema=sch)
    w = ailake.TableWriter(tmp_path / "t", dim=4, storage_format="lance")
    w.write_batch(t)
    w.commit()
    w.close()
    table = ailake.open_table(tmp_path / "t")
    assert table.to_arrow().select(["id", "p"]).to_pylist() == t.select(["id", "p"]).to_pylist()
    assert table.take([5, 299]).column("p").to_pylist() == t["p"].take([5, 299]).to_pylist()
    files = glob.glob(str(tmp_path / "t" / "data" / "*.lance"))
    assert files
    for f in files:
        got, info = pylance.read(f)
        assert got["p"].to_pylist() == t["p"].to_pylist()
    import subprocess, sys
    cols = subprocess.run([sys.executable, "-c",
                           "import sys; from lance.file import LanceFileReader as R; "
                           "print(len(R(sys.argv[1]).metadata().columns))", files[0]],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert cols == "3"


@pytest.mark.parametrize("version", ["2.1", "2.2"])
def test_compression_asked_for_by_field_metadata(tmp_path, version):
    """`lance-encoding:compression` (and zstd's level) on a string field, as
    pylance reads it: every page of short strings (mini-block chunks) and of
    long ones (one value per row) uses that scheme; pylance and our reader
    read the values back. Bad settings are errors naming them."""
    import json
    import subprocess
    import sys
    n = 4000
    short = [None if i % 17 == 0 else f"GET /api/items/{i % 300} 200" for i in range(n)]
    long = [None if i % 13 == 0 else ("row %d lorem ipsum dolor " % i) * 20 for i in range(n)]
    for scheme, marker in (("zstd", "Zstd"), ("lz4", "Lz4"), ("fsst", "Fsst"), ("none", None)):
        meta = {"lance-encoding:compression": scheme}
        if scheme == "zstd":
            meta["lance-encoding:compression-level"] = "9"
        schema = pa.schema([pa.field("short", pa.string(), metadata=meta),
                            pa.field("long", pa.large_string(), metadata=meta)])
        t = pa.table({"short": short, "long": long}, schema=schema)
        path = tmp_path / f"{scheme}.lance"
        ailake.write_lance_file(path, t, version=version, max_page_bytes=256 << 10)
        got, _ = pylance.read(path)
        assert got.to_pylist() == t.to_pylist(), scheme
        assert ailake.read_lance_file(path, rows=[5, 17, 3999]).to_pylist() == \
            t.take([5, 17, 3999]).to_pylist()
        enc = subprocess.run(
            [sys.executable, "-c",
             "import sys, json; from lance.file import LanceFileReader as R; "
             "m = R(sys.argv[1]).metadata(); "
             "print(json.dumps([[str(p.encoding) for p in c.pages] for c in m.columns]))",
             str(path)], capture_output=True, text=True, check=True).stdout
        pages = json.loads(enc.strip().splitlines()[-1])
        for name, col in zip(t.column_names, pages):
            for p in col:
                if scheme == "lz4" and name == "long":
                    # One value per row: pylance cannot read LZ4 values
                    # beside nulls, so this page (with nulls) stays plain.
                    assert "Lz4" not in p, p[:400]
                elif marker:
                    assert marker in p, (scheme, p[:400])
                else:
                    assert "Zstd" not in p and "Lz4" not in p and "Fsst" not in p, p[:400]
    t = pa.table({"long": [x for x in long if x]}, schema=pa.schema(
        [pa.field("long", pa.string(), metadata={"lance-encoding:compression": "lz4"})]))
    ailake.write_lance_file(tmp_path / "lz4long.lance", t, version=version)
    got, _ = pylance.read(tmp_path / "lz4long.lance")
    assert got.to_pylist() == t.to_pylist()
    bad = [({"lance-encoding:compression": "brotli"}, pa.string(), ValueError, "brotli"),
           ({"lance-encoding:compression": "zstd", "lance-encoding:compression-level": "99"},
            pa.string(), ValueError, "compression-level '99'"),
           ({"lance-encoding:compression": "lz4", "lance-encoding:compression-level": "3"},
            pa.string(), ValueError, "needs compression zstd"),
           ({"lance-encoding:compression": "zstd"}, pa.int64(), NotImplementedError,
            "honoured on strings")]
    for meta, typ, err, match in bad:
        t = pa.table({"c": pa.array([None], typ)}, schema=pa.schema([pa.field("c", typ, metadata=meta)]))
        with pytest.raises(err, match=match):
            ailake.write_lance_file(tmp_path / "bad.lance", t, version=version)
    t = pa.table({"c": ["x"]}, schema=pa.schema([pa.field("c", pa.string(), metadata={
        "lance-encoding:compression": "zstd"})]))
    with pytest.raises(NotImplementedError, match="needs Lance file version 2.1 or 2.2"):
        ailake.write_lance_file(tmp_path / "v20.lance", t, version="2.0")
