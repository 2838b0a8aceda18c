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
