"""A database of tables: ``ailake.connect(uri)``, as LanceDB users know it.

A database is a directory (local, or ``s3://bucket/prefix``) whose
subdirectories are tables::

    db = ailake.connect("/data/lake")
    t = db.create_table("docs", [{"id": 1, "vector": [0.1, 0.2], "text": "a"}])
    db.table_names()           # ['docs']
    db.open_table("docs").search([0.1, 0.2]).limit(1).to_list()

``create_table`` and ``write_dataset`` take data in every shape
:mod:`ailake.data` accepts, find the vector column (named, or ``vector`` /
``embedding``, or the only list-of-numbers column) and infer its dimension.
A Database is safe to share between threads; what it returns are
:class:`ailake.Table` objects.
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Any, Dict, List, Mapping, Optional

import pyarrow as pa

from . import data as _data

_MODES = ("create", "overwrite", "exist_ok")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


class Database:
    """Tables under one root (see the module's doc)."""

    def __init__(self, uri: str, storage_options: Optional[Mapping[str, Any]] = None) -> None:
        uri = os.fspath(uri)
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        self.uri = uri.rstrip("/") or "/"
        self.storage_options = dict(storage_options or {})
        if not _is_remote(self.uri):
            os.makedirs(self.uri, exist_ok=True)

    # ---- names ----

    def _path(self, name: str) -> str:
        if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
            raise ValueError(f"table name {name!r}: use letters, digits, '_', '-' and '.', "
                             "not starting with '.' or '-'")
        return self.uri + "/" + name

    def _fs(self):
        """pyarrow's filesystem for a remote root, from the same storage options."""
        from pyarrow import fs

        if not self.uri.startswith("s3://"):
            raise NotImplementedError(f"listing and dropping tables under {self.uri!r}: only "
                                      "local paths and s3:// are supported")
        o = {str(k): str(v) for k, v in self.storage_options.items()}
        kw: Dict[str, Any] = {}
        if "aws_access_key_id" in o:
            kw["access_key"] = o["aws_access_key_id"]
        if "aws_secret_access_key" in o:
            kw["secret_key"] = o["aws_secret_access_key"]
        if "aws_session_token" in o:
            kw["session_token"] = o["aws_session_token"]
        if "aws_region" in o:
            kw["region"] = o["aws_region"]
        if "aws_endpoint" in o:
            ep = o["aws_endpoint"]
            kw["scheme"] = "http" if ep.startswith("http://") else "https"
            kw["endpoint_override"] = ep.split("://", 1)[-1]
        return fs.S3FileSystem(**kw), self.uri[len("s3://"):]

    def table_names(self) -> List[str]:
        """The tables, sorted (directories holding a committed version)."""
        if not _is_remote(self.uri):
            if not os.path.isdir(self.uri):
                return []
            return sorted(n for n in os.listdir(self.uri)
                          if os.path.isdir(os.path.join(self.uri, n, "_versions")))
        from pyarrow import fs as pafs

        fs, root = self._fs()
        names = []
        for info in fs.get_file_info(pafs.FileSelector(root, allow_not_found=True)):
            if info.type != pafs.FileType.Directory:
                continue
            probe = fs.get_file_info(pafs.FileSelector(info.path + "/_versions",
                                                       allow_not_found=True))
            if probe:
                names.append(info.base_name)
        return sorted(names)

    def __contains__(self, name: str) -> bool:
        return name in self.table_names()

    def __len__(self) -> int:
        return len(self.table_names())

    def __getitem__(self, name: str) -> Any:
        return self.open_table(name)

    def __repr__(self) -> str:
        return f"ailake.Database({self.uri!r})"

    # ---- tables ----

    def open_table(self, name: str, version: Optional[int] = None) -> Any:
        """The table ``name`` (its newest version, or ``version``); an unknown
        name is a ValueError listing the tables there are."""
        from . import open_table

        path = self._path(name)
        if name not in self.table_names():
            raise ValueError(f"no table {name!r} in {self.uri}; tables: {self.table_names()}")
        return open_table(path, version, storage_options=self.storage_options or None)

    def create_table(self, name: str, data: Any = None, schema: Optional[pa.Schema] = None,
                     mode: str = "create", *, vector_column: Optional[str] = None,
                     dim: Optional[int] = None, metric: str = "cosine",
                     index: Optional[str] = "hnsw", precision: str = "f32",
                     storage_format: Optional[str] = None, **index_params: Any) -> Any:
        """A new table ``name`` holding ``data`` (or empty with ``schema``).

        ``mode``: ``"create"`` (an existing table is an error), ``"overwrite"``
        (an existing table, its history included, is replaced), ``"exist_ok"``
        (an existing table is opened and ``data`` is not written). The vector
        column is ``vector_column`` or found in the data (module doc); its
        ``dim`` is inferred, ``metric`` / ``index`` / ``index_params`` are
        :class:`ailake.TableWriter`'s. A table without a vector column is a
        plain table (scans, filters, takes)."""
        if mode not in _MODES:
            raise ValueError(f"mode {mode!r} is none of {list(_MODES)}")
        if data is None and schema is None:
            raise ValueError("create_table needs data or a schema")
        path = self._path(name)
        exists = name in self.table_names()
        if exists and mode == "create":
            raise ValueError(f"table {name!r} already exists in {self.uri} (mode='overwrite' "
                             "replaces it, mode='exist_ok' opens it)")
        if exists and mode == "exist_ok":
            return self.open_table(name)
        if exists:
            self.drop_table(name)
        return write_dataset(data, path, mode="create", schema=schema,
                             vector_column=vector_column, dim=dim, metric=metric, index=index,
                             precision=precision, storage_format=storage_format,
                             storage_options=self.storage_options or None, **index_params)

    def drop_table(self, name: str, ignore_missing: bool = False) -> None:
        """Deletes table ``name`` and every file of it."""
        path = self._path(name)
        if name not in self.table_names():
            if ignore_missing:
                return
            raise ValueError(f"no table {name!r} in {self.uri}")
        if not _is_remote(self.uri):
            shutil.rmtree(path)
            return
        fs, root = self._fs()
        fs.delete_dir(root + "/" + name)

    def drop_all_tables(self) -> None:
        for n in self.table_names():
            self.drop_table(n)


def connect(uri: Any, *, storage_options: Optional[Mapping[str, Any]] = None) -> Database:
    """The database at ``uri`` (a local directory, created if missing, or
    ``s3://bucket/prefix`` with :func:`ailake.open_table`'s storage options)."""
    return Database(os.fspath(uri), storage_options)


def write_dataset(data: Any, uri: Any, mode: str = "create", *,
                  schema: Optional[pa.Schema] = None, vector_column: Optional[str] = None,
                  dim: Optional[int] = None, metric: str = "cosine",
                  index: Optional[str] = "hnsw", precision: str = "f32",
                  storage_format: Optional[str] = None,
                  storage_options: Optional[Mapping[str, Any]] = None,
                  **index_params: Any) -> Any:
    """Writes ``data`` as the table at ``uri`` and returns it.

    ``mode``: ``"create"`` (the table must not exist), ``"append"`` (adds
    to it, creating it if missing; its vector settings are kept) or
    ``"overwrite"`` (a local table there is replaced). Everything is one
    commit: readers see all of ``data`` or none of it."""
    from . import TableWriter, create_table, open_table

    uri = os.fspath(uri)
    if mode not in ("create", "append", "overwrite"):
        raise ValueError(f"mode {mode!r} is none of ['create', 'append', 'overwrite']")
    try:
        existing = open_table(uri, storage_options=storage_options)
    except OSError:
        existing = None
    if existing is not None and mode == "create":
        raise ValueError(f"a table already exists at {uri!r} (mode='append' or 'overwrite')")
    if existing is not None and mode == "overwrite":
        if _is_remote(uri):
            raise NotImplementedError("mode='overwrite' of a remote table: drop it through "
                                      "ailake.connect(...).drop_table first")
        shutil.rmtree(uri)
        existing = None
    if existing is not None:
        if index_params or dim is not None or vector_column is not None:
            raise ValueError("appending keeps the table's vector settings; omit dim, "
                             "vector_column and index parameters")
        return existing if data is None else existing.add(data)
    settings = dict(metric=metric, precision=precision, index=index, **index_params)
    chunks = _data.prepare(data, vector_column, dim, schema) if data is not None else iter(())
    first = next(chunks, None)
    if first is None:
        if schema is None:
            raise ValueError("no rows to write and no schema to create the table with")
        name = _data.find_vector_column(schema, vector_column)
        if name is None:
            w = TableWriter(uri, storage_format=storage_format, storage_options=storage_options)
            try:
                w._w.ensure_table(schema.empty_table())
            finally:
                w.close()
            return open_table(uri, storage_options=storage_options)
        return create_table(uri, schema, name, dim, storage_format=storage_format,
                            storage_options=storage_options, **settings)
    name = vector_column or _data.find_vector_column(first.schema, None)
    if name is None:
        w = TableWriter(uri, storage_format=storage_format, storage_options=storage_options,
                        background_threads=0)
    else:
        w = TableWriter(uri, name, first.schema.field(name).type.list_size,
                        storage_format=storage_format, storage_options=storage_options,
                        background_threads=0, **settings)
    try:
        w._w.ensure_table(first.schema.empty_table())
        table = w.table
    finally:
        w.close()
    # Every chunk a staged file (index built inline), all committed at once.
    staged = [table.stage_write(first)]
    for t in chunks:
        staged.append(table.stage_write(t))
    table.commit_staged(staged)
    return table.refresh()
