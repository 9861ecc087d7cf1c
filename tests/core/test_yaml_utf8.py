"""A YAML file is read as UTF-8 (YAML's encoding), whatever the locale: a suite with "µm" in
a comment was refused as undecodable ASCII in the C locale without UTF-8 mode."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_utf8_yaml_file_reads_in_the_c_locale(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("# tiles of 1.17 µm voxels\nname: ±R²\n", encoding="utf-8")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8"}
    code = ("import locale, sys; from mtneuro.yaml_files import load_yaml_mapping; "
            "print(locale.getpreferredencoding(False)); "
            f"print(load_yaml_mapping({str(path)!r})['name'] == '\\u00b1R\\u00b2')")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0].lower() in ("ansi_x3.4-1968", "ascii", "us-ascii")  # the locale is ASCII
    assert out[1] == "True"
