"""The package as users get it: `pip install .` into a fresh venv, and the quickstart example."""
import os
import pathlib
import subprocess
import sys
import sysconfig
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quickstart_example_runs(tmp_path):
    env = dict(os.environ)
    import ailake

    env["PYTHONPATH"] = os.pathsep.join([str(pathlib.Path(ailake.__file__).parents[1]),
                                         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "python_quickstart.py"), str(tmp_path / "t")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "nearest:" in out.stdout and "versions:" in out.stdout


@pytest.mark.pip_install
def test_pip_install_into_fresh_venv(tmp_path):
    """`pip install .` of the repository into a throwaway venv, then import and use it.

    --no-build-isolation: the pinned build requirements (scikit-build-core,
    nanobind, pyarrow==21.0.0) are taken from the project's .venv through a
    .pth file instead of being downloaded, so the test runs offline; the build
    folder (build/pip) is kept between runs so only the first run compiles
    the whole library (several minutes on 2 cores; seconds afterwards).
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The build and runtime dependencies, pinned in requirements/dev.txt.
    pathlib.Path(site, "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    t0 = time.time()
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
         "--config-settings=build-dir=" + str(ROOT / "build" / "pip"), str(ROOT)],
        capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    print(f"pip install took {time.time() - t0:.1f} s")
    code = (
        "import ailake, numpy as np, pathlib, sys\n"
        "assert pathlib.Path(ailake.__file__).is_relative_to(sys.prefix), ailake.__file__\n"
        "x = np.random.default_rng(0).normal(size=(500, 16)).astype(np.float32)\n"
        "ix = ailake.Index.build(x, index='hnsw', metric='euclidean')\n"
        "print(ix.search(x[:2], k=1).ids.ravel().tolist())\n"
        "assert (pathlib.Path(ailake.__file__).parent / 'py.typed').exists()\n"
        "assert (pathlib.Path(ailake.__file__).parent / '_ailake.pyi').exists()\n"
    )
    # Without PYTHONPATH: the test suite's own build of the module must not shadow the install.
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env=clean_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1]"
