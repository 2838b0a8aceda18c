#!/usr/bin/env python3
"""Parses files of the reference AI-Lake implementation byte by byte, as proof of
docs/REFERENCE_FORMAT.md.

For each fixture (tests/data/reference/NAME.parquet + NAME.json + NAME*.npy) it
  1. walks the Parquet frame (PAR1 ... footer, footer length, PAR1) and the
     row-group extents, and reads the ailake.* key-value metadata;
  2. parses every AILK section (64-byte header, centroid + radius, index blob,
     24-byte trailer) and checks each documented invariant, including that the
     sections tile exactly the bytes between the last column chunk and the
     Parquet footer;
  3. decodes the index blob completely (HNSW: parameters, row ids, vectors,
     per-level neighbour lists, levels, entry point; IVF-PQ: coarse centroids,
     PQ codebook, inverted lists of row ids and codes, residual flag) and checks
     that exactly hnsw_len bytes are consumed;
  4. as proof: brute force over the parsed vectors reproduces the exact top-10 of
     the JSON, and a search over the parsed index (HNSW graph search / IVF-PQ ADC
     search, written from the documented algorithm) reproduces the row ids and
     distances that the reference's own search returned.

Only numpy and pyarrow are needed (pyarrow for the Parquet column values; the
AILK bytes are parsed here by hand). Exit status 0 iff every check passed.

    python scripts/reference/parse_reference.py [tests/data/reference/NAME.parquet ...]
"""
from __future__ import annotations

import hashlib
import heapq
import json
import pathlib
import re
import struct
import sys

import numpy as np
import pyarrow.parquet as pq

HEADER_SIZE = 64
TRAILER_SIZE = 24
MAGIC = b"AILK"
PRECISIONS = {0: "f32", 1: "f16", 2: "i8", 3: "binary"}
METRICS = {0: "cosine", 1: "euclidean", 2: "dot_product", 3: "normalized_cosine"}
INDEX_TYPES = {0: "hnsw", 1: "ivf_pq"}  # header `flags` field (bytes 6..8)


class FormatError(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise FormatError(what)


class Cursor:
    """Bounds-checked little-endian reader over a bincode (v1, fixint) blob."""

    def __init__(self, buf: bytes, where: str):
        self.buf, self.pos, self.where = buf, 0, where

    def take(self, n: int) -> bytes:
        check(0 <= n <= len(self.buf) - self.pos,
              f"{self.where}: need {n} bytes at blob offset {self.pos}, blob is {len(self.buf)}")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def length(self, elem_size: int) -> int:
        n = self.u64()
        check(n * elem_size <= len(self.buf) - self.pos,
              f"{self.where}: sequence length {n} at offset {self.pos - 8} overruns the blob")
        return n

    def vec_u64(self) -> np.ndarray:
        n = self.length(8)
        return np.frombuffer(self.take(8 * n), dtype="<u8")

    def vec_f32(self) -> np.ndarray:
        n = self.length(4)
        return np.frombuffer(self.take(4 * n), dtype="<f4")

    def vec_u8(self) -> np.ndarray:
        n = self.length(1)
        return np.frombuffer(self.take(n), dtype=np.uint8)

    def option_u64(self):
        tag = self.u8()
        check(tag in (0, 1), f"{self.where}: Option tag {tag} at offset {self.pos - 1}")
        return self.u64() if tag == 1 else None

    def boolean(self) -> bool:
        v = self.u8()
        check(v in (0, 1), f"{self.where}: bool byte {v} at offset {self.pos - 1}")
        return bool(v)


# ── Parquet frame (Thrift compact protocol, just enough for FileMetaData) ─────

def thrift_struct(buf: bytes, pos: int) -> tuple[dict, int]:
    """Decodes one Thrift compact-protocol struct into {field_id: value}."""

    def varint(p: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            check(p < len(buf), "Parquet footer: truncated varint")
            b = buf[p]
            p += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result, p

    def zigzag(p: int) -> tuple[int, int]:
        v, p = varint(p)
        return (v >> 1) ^ -(v & 1), p

    def value(t: int, p: int):
        if t in (1, 2):  # bool inside a struct: the type nibble is the value
            return t == 1, p
        if t == 3:
            return buf[p], p + 1
        if t in (4, 5, 6):
            return zigzag(p)
        if t == 7:
            return struct.unpack_from("<d", buf, p)[0], p + 8
        if t == 8:
            n, p = varint(p)
            return bytes(buf[p:p + n]), p + n
        if t in (9, 10):
            h = buf[p]
            p += 1
            n, et = h >> 4, h & 0x0F
            if n == 15:
                n, p = varint(p)
            out = []
            for _ in range(n):
                if et in (1, 2):
                    v, p = buf[p] == 1, p + 1
                else:
                    v, p = value(et, p)
                out.append(v)
            return out, p
        if t == 11:
            n, p = varint(p)
            if n == 0:
                return {}, p
            kt, vt = buf[p] >> 4, buf[p] & 0x0F
            p += 1
            out = {}
            for _ in range(n):
                k, p = value(kt, p)
                v, p = value(vt, p)
                out[k] = v
            return out, p
        if t == 12:
            return thrift_struct(buf, p)
        raise FormatError(f"Parquet footer: Thrift type {t} at {p}")

    fields, last = {}, 0
    while True:
        check(pos < len(buf), "Parquet footer: truncated struct")
        h = buf[pos]
        pos += 1
        if h == 0:
            return fields, pos
        delta, t = h >> 4, h & 0x0F
        if delta:
            fid = last + delta
        else:
            fid, pos = zigzag(pos)
        fields[fid], pos = value(t, pos)
        last = fid


def parquet_frame(data: bytes, path: str) -> dict:
    """PAR1, column chunks, [page indexes], [AILK sections], footer, u32 footer length, PAR1."""
    check(data[:4] == b"PAR1" and data[-4:] == b"PAR1", f"{path}: not PAR1 ... PAR1")
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer_start = len(data) - 8 - footer_len
    fmd, end = thrift_struct(data[footer_start:footer_start + footer_len], 0)
    check(end == footer_len, f"{path}: FileMetaData is {end} bytes, footer length {footer_len}")
    num_rows = fmd[3]
    chunks_end = pages_end = 4
    for rg in fmd.get(4, []):
        for cc in rg[1]:
            cmd = cc[3]  # ColumnMetaData: 7 total_compressed_size, 9 data_page, 11 dict page
            start = cmd.get(11, cmd[9])
            chunks_end = max(chunks_end, start + cmd[7])
            for off_f, len_f in ((4, 5), (6, 7)):  # offset index, column index
                if off_f in cc:
                    pages_end = max(pages_end, cc[off_f] + cc[len_f])
    kv = {f[1].decode(): f.get(2, b"").decode() for f in fmd.get(5, [])}
    # Cross-check the hand-decoded footer with pyarrow's reader.
    md = pq.ParquetFile(path).metadata
    check(md.num_rows == num_rows, f"{path}: row count {num_rows} vs pyarrow {md.num_rows}")
    check({k.decode(): v.decode() for k, v in (md.metadata or {}).items()} == kv,
          f"{path}: key-value metadata disagrees with pyarrow")
    return dict(footer_start=footer_start, footer_len=footer_len, chunks_end=chunks_end,
                data_end=max(chunks_end, pages_end), num_rows=num_rows, kv=kv)


def section_offsets(kv: dict, primary: str) -> dict:
    """column -> absolute AILK offset, from ailake.footer_offset / ailake.{col}.footer_offset."""
    out = {}
    for k, v in kv.items():
        check(not k.startswith("ailake.") or "footer_offset" not in k or v.isdigit(),
              f"KV {k} is not a decimal offset: {v!r}")
        if k == "ailake.footer_offset":
            out[primary] = int(v)
        else:
            m = re.fullmatch(r"ailake\.(.+)\.footer_offset", k)
            if m:
                out[m.group(1)] = int(v)
    return out


# ── AILK section ──────────────────────────────────────────────────────────────

def parse_section(data: bytes, off: int, where: str) -> dict:
    check(off + HEADER_SIZE <= len(data), f"{where}: header at {off} past end of file")
    (magic, version, flags, dim, precision, metric, reserved14, record_count, centroid_offset,
     centroid_len, index_offset, index_len, reserved56) = struct.unpack(
        "<4sHHIBBHQQQQQQ", data[off:off + HEADER_SIZE])
    check(magic == MAGIC, f"{where}: header magic {magic!r}")
    check(version == 1, f"{where}: format_version {version}")
    check(flags in INDEX_TYPES, f"{where}: unknown index type (flags) {flags}")
    check(precision in PRECISIONS and metric in METRICS, f"{where}: precision/metric byte")
    check(reserved14 == 0 and reserved56 == 0, f"{where}: reserved header bytes not zero")
    check(centroid_offset == HEADER_SIZE, f"{where}: centroid_offset {centroid_offset}")
    check(centroid_len == 4 * dim + 4, f"{where}: centroid_len {centroid_len} for dim {dim}")
    check(index_offset == centroid_offset + centroid_len, f"{where}: index_offset {index_offset}")
    toff = off + index_offset + index_len
    check(toff + TRAILER_SIZE <= len(data), f"{where}: trailer past end of file")
    t_off, t_len, t_version, t_flags, t_magic = struct.unpack(
        "<QQHH4s", data[toff:toff + TRAILER_SIZE])
    check(t_magic == MAGIC and t_version == 1, f"{where}: trailer magic/version")
    check(t_off == off, f"{where}: trailer footer_offset {t_off} != section offset {off}")
    total = index_offset + index_len + TRAILER_SIZE
    check(t_len == total, f"{where}: trailer footer_len {t_len} != section length {total}")
    check(t_flags == flags, f"{where}: trailer flags {t_flags} != header flags {flags}")
    c = data[off + centroid_offset:off + centroid_offset + centroid_len]
    centroid = np.frombuffer(c[:4 * dim], dtype="<f4")
    radius = struct.unpack("<f", c[4 * dim:])[0]
    return dict(offset=off, end=off + total, dim=dim, precision=PRECISIONS[precision],
                metric=METRICS[metric], index_type=INDEX_TYPES[flags], record_count=record_count,
                centroid=centroid, radius=radius,
                blob=data[off + index_offset:off + index_offset + index_len])


def parse_hnsw(blob: bytes, where: str) -> dict:
    cur = Cursor(blob, where + " HNSW blob")
    h = dict(m=cur.u64(), ef_construction=cur.u64(), max_elements=cur.u64(),
             metric=METRICS.get(cur.u8(), "?"), dim=cur.u32())
    h["row_ids"] = cur.vec_u64()
    n = len(h["row_ids"])
    flat = cur.vec_f32()
    check(len(flat) == n * h["dim"], f"{where}: flat_vecs length {len(flat)} != {n}*{h['dim']}")
    h["vectors"] = flat.reshape(n, h["dim"])
    nodes = cur.length(8)
    check(nodes == n, f"{where}: neighbors has {nodes} nodes, row_ids {n}")
    neighbors = []
    for _ in range(nodes):
        levels = cur.length(8)
        neighbors.append([cur.vec_u64() for _ in range(levels)])
    h["neighbors"] = neighbors
    h["node_levels"] = cur.vec_u64()
    h["entry_point"] = cur.option_u64()
    h["max_layer"] = cur.u64()
    check(cur.pos == len(blob), f"{where}: HNSW blob has {len(blob) - cur.pos} trailing bytes")
    # Graph invariants. Self-links and repeated links do occur in reference files
    # (its parallel build races); they are legal, counted, and harmless to a search
    # that tracks visited nodes.
    check(len(h["node_levels"]) == n, f"{where}: node_levels length")
    h["self_links"] = h["repeated_links"] = 0
    for i, lists in enumerate(neighbors):
        check(len(lists) == h["node_levels"][i] + 1, f"{where}: node {i} has {len(lists)} "
              f"level lists for level {h['node_levels'][i]}")
        for lc, nb in enumerate(lists):
            cap = 2 * h["m"] if lc == 0 else h["m"]
            check(len(nb) <= cap, f"{where}: node {i} level {lc} degree {len(nb)} > {cap}")
            check(len(nb) == 0 or int(nb.max()) < n, f"{where}: node {i} level {lc} links "
                  f"past the {n} nodes")
            h["self_links"] += int((nb == i).sum())
            h["repeated_links"] += len(nb) - len(set(nb.tolist()))
            check(all(h["node_levels"][j] >= lc for j in nb.tolist()),
                  f"{where}: node {i} links at level {lc} to a node below that level")
    ep = h["entry_point"]
    check(ep is not None and ep < n and h["node_levels"][ep] == h["max_layer"] ==
          int(h["node_levels"].max()), f"{where}: entry point / max_layer")
    return h


def parse_ivfpq(blob: bytes, where: str) -> dict:
    cur = Cursor(blob, where + " IVF-PQ blob")
    h = dict(nlist=cur.u64(), nprobe=cur.u64(), pq_m=cur.u64(), pq_k=cur.u64(),
             max_iter=cur.u64(), dim=cur.u64(), metric=METRICS.get(cur.u8(), "?"))
    coarse = cur.vec_f32()
    check(len(coarse) == h["nlist"] * h["dim"], f"{where}: coarse centroids length")
    h["coarse"] = coarse.reshape(h["nlist"], h["dim"])
    M, K, sub = cur.u64(), cur.u64(), cur.u64()
    check(M == h["pq_m"] and M * sub == h["dim"] and K <= 256, f"{where}: PQ shape {M} {K} {sub}")
    outer = cur.length(8)
    check(outer == M, f"{where}: codebook has {outer} subspaces")
    books = np.empty((M, K, sub), dtype=np.float32)
    for m in range(M):
        inner = cur.length(8)
        check(inner == K, f"{where}: subspace {m} has {inner} centroids")
        for k in range(K):
            v = cur.vec_f32()
            check(len(v) == sub, f"{where}: centroid length {len(v)}")
            books[m, k] = v
    h["codebooks"] = books
    nl = cur.length(8)
    check(nl == h["nlist"], f"{where}: {nl} id lists for nlist {h['nlist']}")
    h["list_ids"] = [cur.vec_u64() for _ in range(nl)]
    nl = cur.length(8)
    check(nl == h["nlist"], f"{where}: {nl} code lists for nlist {h['nlist']}")
    h["list_codes"] = []
    for i in range(nl):
        codes = cur.vec_u8()
        check(len(codes) == len(h["list_ids"][i]) * M, f"{where}: list {i} codes length")
        check(K == 256 or len(codes) == 0 or int(codes.max()) < K, f"{where}: code >= K")
        h["list_codes"].append(codes.reshape(-1, M))
    h["residual"] = cur.boolean()
    check(cur.pos == len(blob), f"{where}: IVF-PQ blob has {len(blob) - cur.pos} trailing bytes")
    return h


# ── Distances and searches (the reference's conventions) ─────────────────────

def ref_distance(metric: str, q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reference HNSW convention, computed in float32 like the reference."""
    q = q.astype(np.float32)
    x = np.atleast_2d(x).astype(np.float32)
    if metric == "cosine":
        dot = x @ q
        return (1.0 - dot / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))).astype(np.float32)
    if metric == "euclidean":
        return np.sqrt(((x - q) ** 2).sum(axis=1)).astype(np.float32)
    if metric == "dot_product":
        return -(x @ q)
    if metric == "normalized_cosine":  # the query is normalised, stored vectors used as-is
        return (1.0 - x @ (q / np.linalg.norm(q))).astype(np.float32)
    raise FormatError(f"metric {metric}")


def hnsw_search(h: dict, q: np.ndarray, k: int, ef: int) -> list[tuple[int, float]]:
    """Greedy descent with ef=1 through levels max..1, then a beam of max(ef,k) at level 0."""
    vec, nbrs, metric = h["vectors"], h["neighbors"], h["metric"]
    dist = lambda i: float(ref_distance(metric, q, vec[i])[0])  # noqa: E731

    def layer(eps: list[int], ef_: int, lc: int) -> list[tuple[float, int]]:
        visited = set(eps)
        cands = [(dist(e), e) for e in eps]
        best = [(-d, e) for d, e in cands]  # max-heap by distance
        heapq.heapify(cands)
        heapq.heapify(best)
        while cands:
            d, c = heapq.heappop(cands)
            if d > -best[0][0]:
                break
            for nb in nbrs[c][lc].tolist():
                if nb in visited:
                    continue
                visited.add(nb)
                dn = dist(nb)
                if dn < -best[0][0] or len(best) < ef_:
                    heapq.heappush(cands, (dn, nb))
                    heapq.heappush(best, (-dn, nb))
                    if len(best) > ef_:
                        heapq.heappop(best)
        return sorted((-nd, e) for nd, e in best)

    eps = [h["entry_point"]]
    for lc in range(h["max_layer"], 0, -1):
        eps = [layer(eps, 1, lc)[0][1]]
    res = layer(eps, max(ef, k), 0)[:k]
    return [(int(h["row_ids"][i]), d) for d, i in res]


def ivfpq_search(h: dict, q: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Coarse: nprobe nearest centroids by squared L2; fine: ADC squared L2 over PQ codes."""
    q = q.astype(np.float32)
    if h["metric"] == "cosine":
        q = q / np.linalg.norm(q)
    cd = ((h["coarse"] - q) ** 2).sum(axis=1)
    probe = np.argsort(cd, kind="stable")[:h["nprobe"]]
    M, K, sub = h["codebooks"].shape
    out = []
    for li in probe.tolist():
        target = q - h["coarse"][li] if h["residual"] else q
        table = ((h["codebooks"] - target.reshape(M, 1, sub)) ** 2).sum(axis=2)  # [M, K]
        codes = h["list_codes"][li]
        if len(codes) == 0:
            continue
        d = table[np.arange(M), codes].sum(axis=1)
        out.extend(zip(h["list_ids"][li].tolist(), d.tolist()))
    out.sort(key=lambda t: t[1])
    return out[:k]


def compare(label: str, got: list[tuple[int, float]], want: list[dict], tol: float) -> str:
    gi = [g[0] for g in got]
    wi = [w["row_id"] for w in want]
    check(gi == wi, f"{label}: row ids {gi} != reference {wi}")
    err = max((abs(g[1] - w["distance"]) for g, w in zip(got, want)), default=0.0)
    check(err <= tol, f"{label}: distance error {err:.3g} > {tol}")
    return f"{len(gi)} ids identical, max |distance error| {err:.2e}"


# ── One fixture ───────────────────────────────────────────────────────────────

# KV / field metadata spell the metrics like this (note "dotproduct").
KV_METRIC = {"cosine": "cosine", "euclidean": "euclidean", "dot_product": "dotproduct",
             "normalized_cosine": "normalized_cosine"}


def decode_column(path: str, column: str, dim: int, precision: str) -> np.ndarray | None:
    """The FIXED_LEN_BYTE_ARRAY column as [rows, dim]: f32/f16 values, or raw i8 codes."""
    table = pq.read_table(path)
    if column not in table.column_names:
        return None
    field = table.schema.field(column)
    width = {"f32": 4, "f16": 2, "i8": 1}[precision]
    check(field.type.byte_width == dim * width, f"{column}: byte width {field.type.byte_width}")
    raw = b"".join(table.column(column).to_pylist())
    dtype = {"f32": "<f4", "f16": "<f2", "i8": "i1"}[precision]
    return np.frombuffer(raw, dtype=dtype).reshape(-1, dim).astype(np.float32)


def i8_codes(x: np.ndarray) -> np.ndarray:
    """Per-vector affine int8 codes: scale = (max-min)/254, zero = -128 - min/scale,
    code = clamp(round_half_away(x/scale + zero), -128, 127); all in float32."""
    x = x.astype(np.float32)
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    rng = hi - lo
    scale = np.where(rng == 0, np.float32(1), rng / np.float32(254)).astype(np.float32)
    zero = (np.float32(-128) - lo / scale).astype(np.float32)
    v = (x / scale + zero).astype(np.float32)
    return np.clip(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)), -128, 127)


def verify_fixture(parquet_path: pathlib.Path) -> list[str]:
    log = []
    meta = json.loads(parquet_path.with_suffix(".json").read_text())
    data = parquet_path.read_bytes()
    where = parquet_path.name
    check(hashlib.sha256(data).hexdigest() == meta["sha256"], f"{where}: sha256 differs from "
          "its JSON (the file was rewritten without regenerating the JSON)")
    frame = parquet_frame(data, str(parquet_path))
    kv = frame["kv"]
    check(frame["num_rows"] == meta["rows"], f"{where}: {frame['num_rows']} rows")
    primary = kv.get("ailake.vector_column")
    check(primary == meta["columns_in_write_order"][0], f"{where}: ailake.vector_column {primary}")
    check(kv.get("ailake.format_version") == "1", f"{where}: ailake.format_version")
    pc = meta["vectors"]["columns"][primary]
    check(kv.get("ailake.dim") == str(pc["dim"]) and kv.get("ailake.metric") ==
          KV_METRIC[pc["metric"]] and kv.get("ailake.precision") == pc["precision"] and
          kv.get("ailake.record_count") == str(meta["rows"]), f"{where}: ailake.* KV values {kv}")
    offsets = section_offsets(kv, primary)
    log.append(f"{where}: {len(data)} bytes, {frame['num_rows']} rows, column chunks end at "
               f"{frame['chunks_end']}, page indexes end at "
               f"{frame['data_end']}, Parquet footer at {frame['footer_start']} "
               f"({frame['footer_len']} bytes), AILK sections {offsets}")
    cols = meta["vectors"]["columns"]
    if not offsets:
        check(frame["data_end"] == frame["footer_start"],
              f"{where}: plain file has {frame['footer_start'] - frame['data_end']} bytes "
              "between column data and footer")
        log.append(f"  plain Parquet: no AILK section, footer follows the column data directly")
    else:
        # Sections tile [data_end, footer_start) exactly, in KV write order.
        pos = frame["data_end"]
        for col in meta["columns_in_write_order"]:
            check(offsets.get(col) == pos, f"{where}: section of {col} at {offsets.get(col)}, "
                  f"expected {pos}")
            pos = parse_section(data, pos, f"{where}[{col}]")["end"]
        check(pos == frame["footer_start"], f"{where}: sections end at {pos}, footer at "
              f"{frame['footer_start']}")
        log.append("  sections tile the gap between column data and footer exactly")

    for col, cinfo in cols.items():
        truth = np.load(parquet_path.parent / cinfo["npy"]).astype(np.float32)
        dim, metric = cinfo["dim"], cinfo["metric"]
        stored = decode_column(str(parquet_path), col, dim, cinfo["precision"])
        pq_only = kv.get("ailake.pq_only") == "true"
        if stored is None:
            # Two documented cases: pq_only files drop the vector column, and the
            # secondary columns of write_multi files exist only inside their AILK section.
            check(pq_only or (col != primary and col in offsets),
                  f"{where}: vector column {col} missing from the Parquet schema")
            why = "ailake.pq_only=true" if pq_only else "secondary column: AILK section only"
            log.append(f"  [{col}] no Parquet vector column ({why})")
        elif cinfo["precision"] == "i8":
            want = i8_codes(truth)
            check(np.array_equal(stored, want), f"{where}: i8 codes of {col} differ from the "
                  f"per-vector affine quantisation in {int((stored != want).sum())} places")
            log.append(f"  [{col}] Parquet FIXED_LEN_BYTE_ARRAY i8 = per-vector min/max affine "
                       f"codes of the .npy vectors (exact); scale/zero point not stored")
        else:
            check(np.array_equal(stored, truth), f"{where}: column {col} != .npy vectors")
            log.append(f"  [{col}] Parquet FIXED_LEN_BYTE_ARRAY {cinfo['precision']} "
                       f"decodes to the .npy vectors exactly")
        if stored is not None:
            fmd = pq.read_schema(str(parquet_path)).field(col).metadata or {}
            fmd = {k.decode(): v.decode() for k, v in fmd.items()}
            check(fmd.get("ailake.dim") == str(dim) and
                  fmd.get("ailake.metric") == KV_METRIC[metric] and
                  fmd.get("ailake.precision") == cinfo["precision"],
                  f"{where}: field metadata of {col}: {fmd}")
        queries = [q for q in meta["queries"] if q["column"] == col]
        for qe in queries:  # brute force over the vectors reproduces the exact top-10
            q = np.asarray(qe["vector"], dtype=np.float32)
            d = ref_distance(metric, q, truth).astype(np.float64)
            if metric == "euclidean":
                d = d ** 2
            order = np.argsort(d, kind="stable")[:10].tolist()
            check(order == qe["exact_top10"]["row_ids"], f"{where}: exact top-10 of query "
                  f"{qe['index']} {order} != {qe['exact_top10']['row_ids']}")
        log.append(f"  [{col}] brute force over the vectors: exact top-10 of "
                   f"{len(queries)} queries reproduced")
        if col not in offsets:
            continue
        sec = parse_section(data, offsets[col], f"{where}[{col}]")
        check(sec["dim"] == dim and sec["metric"] == metric and
              sec["precision"] == cinfo["precision"] and sec["record_count"] == meta["rows"],
              f"{where}[{col}]: header dim/metric/precision/record_count disagree")
        # Centroid = float32 mean of the raw vectors; radius = max metric distance to it.
        mean = truth.mean(axis=0, dtype=np.float64)
        cerr = float(np.abs(sec["centroid"] - mean).max())
        check(cerr < 1e-4, f"{where}[{col}]: centroid differs from the mean by {cerr}")
        if metric == "normalized_cosine":  # radius uses 1 - dot(c, v): c is not normalised
            radius = float((1.0 - truth @ sec["centroid"]).max())
        else:
            radius = float(ref_distance(metric, sec["centroid"], truth).max())
        check(abs(radius - sec["radius"]) <= 1e-4 * max(1.0, radius),
              f"{where}[{col}]: radius {sec['radius']} vs recomputed {radius}")
        log.append(f"  [{col}] header: {sec['index_type']}, dim {dim}, {metric}, "
                   f"{sec['precision']}, {sec['record_count']} rows; centroid = mean "
                   f"(max err {cerr:.1e}), radius {sec['radius']:.6g} = max {metric} distance")
        if sec["index_type"] == "hnsw":
            h = parse_hnsw(sec["blob"], f"{where}[{col}]")
            check(h["dim"] == dim and h["metric"] == metric, f"{where}[{col}]: blob dim/metric")
            check(np.array_equal(h["row_ids"], np.arange(meta["rows"], dtype=np.uint64)),
                  f"{where}[{col}]: row_ids are not 0..n-1")
            check(np.array_equal(h["vectors"], truth), f"{where}[{col}]: blob vectors != input")
            degs = [len(x[0]) for x in h["neighbors"]]
            log.append(f"  [{col}] HNSW blob {len(sec['blob'])} bytes fully consumed: m={h['m']} "
                       f"ef_c={h['ef_construction']} max_elements={h['max_elements']}, "
                       f"row_ids = 0..{meta['rows'] - 1}, raw f32 vectors inside (== input), "
                       f"levels 0..{h['max_layer']}, entry {h['entry_point']}, level-0 degree "
                       f"{min(degs)}..{max(degs)} (mean {np.mean(degs):.1f}), self-links "
                       f"{h['self_links']}, repeated links {h['repeated_links']}")
        else:
            h = parse_ivfpq(sec["blob"], f"{where}[{col}]")
            check(h["dim"] == dim and h["metric"] == metric, f"{where}[{col}]: blob dim/metric")
            ids = np.sort(np.concatenate(h["list_ids"]))
            check(np.array_equal(ids, np.arange(meta["rows"], dtype=np.uint64)),
                  f"{where}[{col}]: inverted lists do not hold each row exactly once")
            # What the codes encode: reconstruct every row from its cell and codes and
            # compare with the input (normalised for cosine). Residual codes only
            # reconstruct once the cell's coarse centroid is added back.
            target = truth / np.linalg.norm(truth, axis=1, keepdims=True) \
                if metric == "cosine" else truth
            recon = np.empty_like(truth)
            M = h["pq_m"]
            for j, (ids_j, codes_j) in enumerate(zip(h["list_ids"], h["list_codes"])):
                if len(ids_j):
                    r = h["codebooks"][np.arange(M), codes_j].reshape(len(ids_j), -1)
                    recon[ids_j.astype(np.int64)] = r + (h["coarse"][j] if h["residual"] else 0)
            spread = float(((target - target.mean(axis=0)) ** 2).sum(axis=1).mean())
            rel = float(((recon - target) ** 2).sum(axis=1).mean()) / spread
            check(rel < 0.5, f"{where}[{col}]: PQ reconstruction error {rel:.2f} of the data "
                  "spread: codes do not encode the documented vectors")
            log.append(f"  [{col}] PQ reconstruction of the {'normalised ' if metric == 'cosine' else ''}"
                       f"input{' (cell centroid + residual)' if h['residual'] else ''}: "
                       f"relative squared error {rel:.3f}")
            log.append(f"  [{col}] IVF-PQ blob {len(sec['blob'])} bytes fully consumed: "
                       f"nlist={h['nlist']} nprobe={h['nprobe']} pq_m={h['pq_m']} "
                       f"pq_k={h['pq_k']} max_iter={h['max_iter']} residual={h['residual']}; "
                       f"every row in exactly one list")
        for qe in queries:
            q = np.asarray(qe["vector"], dtype=np.float32)
            for key in sorted(k for k in qe if k.startswith("reference_search")):
                want = qe[key]["results"]
                label = f"{where}[{col}] query {qe['index']} {key}"
                m = re.fullmatch(r"reference_search_ef(\d+)", key)
                if sec["index_type"] == "hnsw":
                    ef = int(m.group(1)) if m else 50
                    got = hnsw_search(h, q, 10, ef)
                    if "rrf_score" in want[0]:  # search_multimodal: ranks only
                        check([g[0] for g in got] == [w["row_id"] for w in want],
                              f"{label}: ranking differs")
                        msg = "ranking identical (RRF scores 1/(60+rank))"
                    else:
                        msg = compare(label, got, want, 1e-4)
                else:
                    msg = compare(label, ivfpq_search(h, q, 10), want, 1e-3)
                missed = len(set(qe["exact_top10"]["row_ids"]) - {w["row_id"] for w in want})
                log.append(f"    query {qe['index']} {key}: {msg}; recall@10 vs exact "
                           f"{10 - missed}/10")
    return log


def main(argv: list[str]) -> int:
    root = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "reference"
    paths = [pathlib.Path(a) for a in argv] or sorted(root.glob("*.parquet"))
    failed = 0
    for p in paths:
        try:
            print("\n".join(verify_fixture(p)))
            print(f"OK {p.name}")
        except FormatError as e:
            failed += 1
            print(f"FAIL {p.name}: {e}")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
