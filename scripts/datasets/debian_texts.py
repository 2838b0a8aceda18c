#!/usr/bin/env python3
"""Debian package descriptions as a table of real text.

Reads the package records of `apt-cache dumpavail` (Package, Version,
Installed-Size, Section, Priority, Description) and joins the long
descriptions, which Debian ships separately in the Translation-en indexes
keyed by (Package, Description-md5). Those indexes are only present when apt
fetched them: `apt-get update -o Acquire::Languages=en`. Records that carry
their long description inline (no Description-md5) use it directly.

One row per package name. When a name has several records (suites, updates),
the highest version by Debian version ordering (Debian Policy 5.6.12) wins.
Rows are sorted by package name (byte order), so the output is deterministic
for a given set of apt lists.

    debian_texts.py --out .cache/datasets/debian_packages.parquet

`documents()` turns the package table into the embedding corpus: one
"package" document per package ("<short>. <long>") in package order,
followed by one "paragraph" document per distinct paragraph of every
multi-paragraph long description.
"""
from __future__ import annotations

import argparse
import glob
import os
import pathlib
import re
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

PACKAGE_SCHEMA = pa.schema([
    pa.field("package", pa.string(), nullable=False),
    pa.field("section", pa.string()),
    pa.field("priority", pa.string()),
    pa.field("installed_size", pa.int64()),  # KiB, as in the Installed-Size field
    pa.field("version", pa.string()),
    pa.field("short_description", pa.string()),
    pa.field("long_description", pa.string()),  # paragraphs separated by a blank line
])

DOCUMENT_SCHEMA = pa.schema([
    pa.field("doc_id", pa.int64(), nullable=False),
    pa.field("package", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),  # "package" or "paragraph"
    pa.field("paragraph", pa.int32(), nullable=False),  # paragraph index, -1 for package documents
    pa.field("section", pa.string()),
    pa.field("priority", pa.string()),
    pa.field("installed_size", pa.int64()),
    pa.field("version", pa.string()),
    pa.field("short_description", pa.string()),
    pa.field("text", pa.string(), nullable=False),
])


# -- Debian version ordering (Debian Policy 5.6.12) ----------------------------
def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _cmp_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        # Non-digit prefix, compared with the modified ASCII order.
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ca = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            cb = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ca != cb:
                return -1 if ca < cb else 1
            i += 1
            j += 1
        # Digit run, compared numerically.
        si = i
        while i < len(a) and a[i].isdigit():
            i += 1
        sj = j
        while j < len(b) and b[j].isdigit():
            j += 1
        na = int(a[si:i] or 0)
        nb = int(b[sj:j] or 0)
        if na != nb:
            return -1 if na < nb else 1
    return 0


def _split_version(v: str) -> tuple[int, str, str]:
    epoch = 0
    if ":" in v:
        e, v = v.split(":", 1)
        epoch = int(e) if e.isdigit() else 0
    upstream, _, revision = v.rpartition("-") if "-" in v else (v, "", "")
    return epoch, upstream, revision


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version a sorts before, equal to, or after b."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)


# -- deb822 records --------------------------------------------------------------
def parse_records(text: str) -> list[dict[str, str]]:
    """deb822 stanzas (blank-line separated); continuation lines keep their leading space."""
    records = []
    cur: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                records.append(cur)
            cur, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                cur[key] += "\n" + line
        else:
            k, sep, v = line.partition(":")
            if not sep:
                raise ValueError(f"malformed deb822 line {line[:80]!r}")
            key = k.strip()
            cur[key] = v.strip()
    if cur:
        records.append(cur)
    return records


def long_description_text(continuation: str) -> str:
    """Extended description lines (each starting with a space) as plain text.

    " ." lines separate paragraphs (returned as a blank line); the first space
    of every line is the field's continuation marker and is removed.
    """
    paras: list[list[str]] = [[]]
    for line in continuation.split("\n"):
        if not line:
            continue
        body = line[1:]
        if body.strip() == ".":
            paras.append([])
        else:
            paras[-1].append(body.rstrip())
    return "\n\n".join("\n".join(p) for p in paras if any(s.strip() for s in p))


def _split_description(value: str) -> tuple[str, str]:
    short, _, rest = value.partition("\n")
    return short.strip(), long_description_text(rest) if rest else ""


def _lists_dir() -> pathlib.Path:
    try:
        out = subprocess.run(["apt-config", "shell", "D", "Dir::State::lists/d"], check=True,
                             capture_output=True, text=True).stdout
        m = re.search(r"D='([^']*)'", out)
        if m:
            return pathlib.Path(m.group(1))
    except (OSError, subprocess.CalledProcessError):
        pass
    return pathlib.Path("/var/lib/apt/lists")


def _read_index(path: str) -> str:
    """An apt list file, decompressed by apt's own helper (lz4, gz, xz, zst...)."""
    return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True,
                          capture_output=True).stdout.decode("utf-8", errors="replace")


def translation_files() -> list[str]:
    return sorted(glob.glob(str(_lists_dir() / "*_i18n_Translation-en*")))


def load_translations(paths: list[str]) -> dict[tuple[str, str], str]:
    """(package, description md5) -> long description text, from Translation-en indexes."""
    out: dict[tuple[str, str], str] = {}
    for p in paths:
        for r in parse_records(_read_index(p)):
            if "Package" in r and "Description-md5" in r and "Description-en" in r:
                out[(r["Package"], r["Description-md5"])] = _split_description(r["Description-en"])[1]
    return out


def dumpavail() -> str:
    return subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True).stdout.decode(
        "utf-8", errors="replace")


def package_table(dump: str | None = None, translations: list[str] | None = None,
                  require_long: bool = True) -> pa.Table:
    """The package table (PACKAGE_SCHEMA), sorted by package name."""
    dump = dumpavail() if dump is None else dump
    paths = translation_files() if translations is None else translations
    if require_long and not paths:
        raise FileNotFoundError(
            f"no Translation-en index under {_lists_dir()}: long descriptions are missing; run "
            "`apt-get update -o Acquire::Languages=en` (or pass require_long=False / --short-only)")
    long_by_md5 = load_translations(paths)

    best: dict[str, dict[str, str]] = {}
    for r in parse_records(dump):
        name = r.get("Package")
        if not name or "Description" not in r:
            continue
        prev = best.get(name)
        if prev is None or compare_versions(r.get("Version", "0"), prev.get("Version", "0")) > 0:
            best[name] = r

    cols: dict[str, list] = {f.name: [] for f in PACKAGE_SCHEMA}
    missing_long = 0
    for name in sorted(best, key=lambda s: s.encode("utf-8")):
        r = best[name]
        short, inline_long = _split_description(r["Description"])
        long = inline_long or long_by_md5.get((name, r.get("Description-md5", "")), "")
        missing_long += not long
        size = r.get("Installed-Size", "")
        cols["package"].append(name)
        cols["section"].append(r.get("Section"))
        cols["priority"].append(r.get("Priority"))
        cols["installed_size"].append(int(size) if size.isdigit() else None)
        cols["version"].append(r.get("Version"))
        cols["short_description"].append(short)
        cols["long_description"].append(long)
    table = pa.Table.from_pydict(cols, schema=PACKAGE_SCHEMA)
    return table.replace_schema_metadata({"ailake.missing_long_descriptions": str(missing_long)})


def _flat(s: str) -> str:
    return " ".join(s.split())


def package_text(short: str, long: str) -> str:
    """The package document: "<short description>. <long description>", whitespace collapsed."""
    short = _flat(short)
    long = _flat(long)
    if not long:
        return short
    return f"{short}{'' if short.endswith(('.', '!', '?')) else '.'} {long}"


def documents(packages: pa.Table, paragraphs: bool = True, min_paragraph_words: int = 4) -> pa.Table:
    """The embedding corpus (DOCUMENT_SCHEMA): package documents first, then paragraphs.

    Paragraph documents come from long descriptions with at least two
    paragraphs; each paragraph of at least `min_paragraph_words` words whose
    whitespace-collapsed text was not seen before (as a paragraph or a package
    document) is kept once, for the first package (in name order) that has it.
    """
    p = packages.to_pydict()
    n = packages.num_rows
    cols: dict[str, list] = {f.name: [] for f in DOCUMENT_SCHEMA}

    def add(i: int, kind: str, para: int, text: str) -> None:
        cols["doc_id"].append(len(cols["doc_id"]))
        cols["package"].append(p["package"][i])
        cols["kind"].append(kind)
        cols["paragraph"].append(para)
        for c in ("section", "priority", "installed_size", "version", "short_description"):
            cols[c].append(p[c][i])
        cols["text"].append(text)

    seen = set()
    for i in range(n):
        t = package_text(p["short_description"][i], p["long_description"][i])
        seen.add(t)
        add(i, "package", -1, t)
    if paragraphs:
        for i in range(n):
            paras = [q for q in p["long_description"][i].split("\n\n") if q.strip()]
            if len(paras) < 2:
                continue
            for k, q in enumerate(paras):
                t = _flat(q)
                if len(t.split()) < min_paragraph_words or t in seen:
                    continue
                seen.add(t)
                add(i, "paragraph", k, t)
    return pa.Table.from_pydict(cols, schema=DOCUMENT_SCHEMA)


def write_parquet(table: pa.Table, path: pathlib.Path) -> None:
    """Atomic write (temporary file + rename), zstd compressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Debian package descriptions from apt-cache dumpavail to Parquet.")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(".cache/datasets/debian_packages.parquet"))
    ap.add_argument("--dumpavail", type=pathlib.Path, help="read this saved dumpavail output instead of running apt-cache")
    ap.add_argument("--translations", type=pathlib.Path, nargs="*",
                    help="Translation-en index files (default: those under apt's lists directory)")
    ap.add_argument("--short-only", action="store_true", help="allow running without any Translation-en index")
    args = ap.parse_args(argv)
    dump = args.dumpavail.read_text(encoding="utf-8", errors="replace") if args.dumpavail else None
    trans = [str(t) for t in args.translations] if args.translations is not None else None
    t = package_table(dump, trans, require_long=not args.short_only)
    write_parquet(t, args.out)
    missing = (t.schema.metadata or {}).get(b"ailake.missing_long_descriptions", b"?").decode()
    print(f"wrote {args.out}: {t.num_rows} packages ({missing} without a long description)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
