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
        "pip_install: builds and installs the package into a fresh venv (slow on the first run; "
        "deselect with -m 'not pip_install')",
    )
