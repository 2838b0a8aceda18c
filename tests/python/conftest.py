import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    """The C++ build whose binaries the interop tests run (scripts/test.sh sets it)."""
    d = pathlib.Path(os.environ.get("AILAKE_BUILD_DIR", ROOT / "build" / "release"))
    if not d.is_dir():
        pytest.fail(f"C++ build directory {d} does not exist; build first (make build)")
    return d


@pytest.fixture()
def cli(build_dir):
    """Runs the built ``ailake`` CLI; ``check`` asserts exit code 0."""
    import subprocess

    exe = build_dir / "bin" / "ailake"
    if not exe.exists():
        pytest.fail(f"{exe} was not built")

    def run(*args, check=True):
        r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"ailake {args} -> {r.returncode}: {r.stderr}")
        return r

    run.exe = exe
    return run


# The ailake package: installed, or built by CMake with AILAKE_BUILD_PYTHON=ON
# (the ci preset assembles it under build/ci/python; scripts/test.sh puts that
# folder on PYTHONPATH). Running pytest by hand finds it there too.
def _add_built_package() -> None:
    import importlib.util
    import sys

    if importlib.util.find_spec("ailake") is not None:
        return
    for d in (os.environ.get("AILAKE_BUILD_DIR"), ROOT / "build" / "ci", ROOT / "build" / "release"):
        if d and (pathlib.Path(d) / "python" / "ailake" / "__init__.py").exists():
            sys.path.insert(0, str(pathlib.Path(d) / "python"))
            return


_add_built_package()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "parquet_only: the test is about the Parquet container itself (its pages, CRCs, other "
        "engines reading the files, the Iceberg view): its tables are Parquet whatever "
        "AILAKE_STORAGE_FORMAT says",
    )
    config.addinivalue_line(
        "markers",
        "pip_install: builds and installs the package into a fresh venv (slow on the first run; "
        "deselect with -m 'not pip_install')",
    )


@pytest.fixture(autouse=True)
def _parquet_only(request, monkeypatch):
    if request.node.get_closest_marker("parquet_only"):
        monkeypatch.setenv("AILAKE_STORAGE_FORMAT", "parquet")


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A local S3-compatible server (moto_server on 127.0.0.1) with bucket 'ailake'."""
    from s3_server import running_s3_server

    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def location(request, tmp_path):
    """(uri, storage_options) of a new table on local disk, then on S3."""
    if request.param == "local":
        return str(tmp_path / "t"), None
    server = request.getfixturevalue("s3")
    return server.new_uri(), server.storage_options()
