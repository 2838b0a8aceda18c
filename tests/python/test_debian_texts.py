"""scripts/datasets/debian_texts.py: deb822 parsing, version ordering, documents."""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "datasets"))
import debian_texts  # noqa: E402

PAIRS = [("1.0", "1.0"), ("1.0~rc1", "1.0"), ("1.0", "1.0+b1"), ("1:0.1", "2.0"), ("1.0-2", "1.0-10"),
         ("1.0a", "1.0+"), ("2.30-1", "2.3-1"), ("1.0~~", "1.0~"), ("0.0.26-3", "0.0.26-3+deb12u1"),
         ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"), ("1.2.3", "1.2.3-0"), ("1.0.", "1.0")]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg (the oracle) is not installed")
@pytest.mark.parametrize("a,b", PAIRS)
def test_version_order_matches_dpkg(a, b):
    def dpkg(op):
        return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0
    want = -1 if dpkg("lt") else (1 if dpkg("gt") else 0)
    assert debian_texts.compare_versions(a, b) == want


DUMP = """Package: zeta
Version: 1.0-1
Installed-Size: 12
Section: utils
Priority: optional
Description: last tool
Description-md5: 00000000000000000000000000000001

Package: alpha
Version: 2.0-1
Installed-Size: 40
Section: libs
Priority: important
Description: first library
Description-md5: 00000000000000000000000000000002

Package: alpha
Version: 2.0-1+deb12u1
Installed-Size: 41
Section: libs
Priority: important
Description: first library (security update)
Description-md5: 00000000000000000000000000000003

Package: inline
Version: 3
Description: inline long form
 First paragraph line one
 line two.
 .
 Second paragraph here with words.
"""

TRANSLATION = """Package: alpha
Description-md5: 00000000000000000000000000000003
Description-en: first library (security update)
 Alpha does useful things for many programs.
 .
 This package contains the shared library files.
 .
   verbatim  line

Package: alpha
Description-md5: 00000000000000000000000000000002
Description-en: first library
 stale text of the old version
"""


def test_package_table_dedups_joins_and_sorts(tmp_path):
    tr = tmp_path / "Translation-en"
    tr.write_text(TRANSLATION)
    t = debian_texts.package_table(DUMP, [str(tr)]).to_pylist()
    assert [r["package"] for r in t] == ["alpha", "inline", "zeta"]
    a = t[0]
    assert a["version"] == "2.0-1+deb12u1" and a["installed_size"] == 41
    assert a["short_description"] == "first library (security update)"
    assert a["long_description"] == ("Alpha does useful things for many programs.\n\n"
                                     "This package contains the shared library files.\n\n  verbatim  line")
    assert t[1]["long_description"] == "First paragraph line one\nline two.\n\nSecond paragraph here with words."
    assert t[1]["section"] is None and t[1]["installed_size"] is None
    assert t[2]["long_description"] == ""

    docs = debian_texts.documents(debian_texts.package_table(DUMP, [str(tr)])).to_pylist()
    assert [(d["doc_id"], d["package"], d["kind"], d["paragraph"]) for d in docs] == [
        (0, "alpha", "package", -1), (1, "inline", "package", -1), (2, "zeta", "package", -1),
        (3, "alpha", "paragraph", 0), (4, "alpha", "paragraph", 1),
        (5, "inline", "paragraph", 0), (6, "inline", "paragraph", 1)]
    assert docs[0]["text"] == ("first library (security update). Alpha does useful things for many programs. "
                               "This package contains the shared library files. verbatim line")
    assert docs[2]["text"] == "last tool"
    assert docs[4]["text"] == "This package contains the shared library files."


def test_missing_translations_is_an_error_unless_allowed():
    with pytest.raises(FileNotFoundError, match="Translation-en"):
        debian_texts.package_table(DUMP, [], require_long=True)
    t = debian_texts.package_table(DUMP, [], require_long=False)
    assert t.num_rows == 3
