"""Suite YAML: typed validation, cell ids, command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro.bench.suite import builtin_suites, cell_id, expand, load_suite, parse_suite
from mtneuro.errors import ConfigError

GOOD = """
name: mine
source: phantom
source_params: {seed: 3}
seeds: [0, 1]
grid:
  - task: tiny
    setting: a
    methods: [ok, other]
    params: {width: 4}
  - task: tiny
    setting: b
    methods: [ok]
    seeds: [5]
"""


def _write(tmp_path, text):
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_suite_file_expands_to_cells(tiny_task, tmp_path):
    cells = expand(load_suite(_write(tmp_path, GOOD)))
    assert [c.id for c in cells] == ["tiny-a-ok-s0", "tiny-a-ok-s1", "tiny-a-other-s0", "tiny-a-other-s1",
                                     "tiny-b-ok-s5"]
    assert cells[0].params == {"width": 4} and cells[0].source_params == {"seed": 3}


@pytest.mark.parametrize("bad,message", [
    (GOOD.replace("methods: [ok, other]", "metods: [ok, other]"),
     r"grid\[0\]\.metods: unknown key \(did you mean 'grid\[0\]\.methods'\?\)"),
    (GOOD.replace("seeds: [0, 1]", "sead: [0, 1]"), r"sead: unknown key \(did you mean 'seeds'\?\)"),
    (GOOD.replace("name: mine", 'name: ""'), r"name: expected a non-empty name, got ''"),
    (GOOD.replace("seeds: [5]", "seeds: five"), r"grid\[1\]\.seeds: expected list of int"),
    (GOOD.replace("methods: [ok]", "methods: []"), r"grid\[1\]\.methods: expected at least one method"),
    (GOOD.replace("    setting: b\n", ""), r"grid\[1\]\.setting: missing required key"),
    (GOOD.replace("seeds: [0, 1]", "seeds: [0, 1]\njobs: many"), r"jobs: expected int or one of 'auto', got 'many'"),
    (GOOD.replace("seeds: [0, 1]", "seeds: [0, 1]\njobs: 0"), r"jobs: expected 'auto' or int >= 1, got 0"),
])
def test_wrong_key_or_value_fails_naming_it(tmp_path, bad, message):
    path = _write(tmp_path, bad)
    with pytest.raises(ConfigError, match=message) as info:
        load_suite(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_suite_params_read_yaml_12_floats(tiny_task, tmp_path):
    # under source_params, a key of the tiny task's config (a file's params are checked on load)
    floats = "params: {source_params: {lr: 1e-3, wd: 1.0e5}}"
    suite = load_suite(_write(tmp_path, GOOD.replace("params: {width: 4}", floats)))
    assert suite.grid[0].params == {"source_params": {"lr": 0.001, "wd": 100000.0}}


def test_jobs_default_to_one(tiny_task, tmp_path):
    assert load_suite(_write(tmp_path, GOOD)).jobs == 1
    assert load_suite(_write(tmp_path, GOOD.replace("seeds: [0, 1]", "seeds: [0, 1]\njobs: 3"))).jobs == 3


def test_the_builtin_small_suites_ask_for_auto_jobs():
    # with the real tasks: their presets are checked as the suites load
    assert {name: load_suite(name).jobs for name in ("quick", "neural", "paper")} == {
        "quick": "auto", "neural": "auto", "paper": 1}


def test_unknown_builtin_suite_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown suite 'quik' \\(did you mean 'quick'"):
        load_suite("quik")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(_write(tmp_path, "grid: [unclosed"))
    assert {"quick", "paper"} <= set(builtin_suites())


def test_overrides_and_encoder_cells(tiny_task, tmp_path):
    suite = load_suite(_write(tmp_path, GOOD))
    cells = expand(suite, source="bossdb", seeds=(7,), encoder="pkg.mod:build", encoder_tasks=("tiny",))
    assert [c.id for c in cells] == ["tiny-a-ok-s7", "tiny-a-other-s7", "tiny-a-encoder-s7",
                                     "tiny-b-ok-s7", "tiny-b-encoder-s7"]
    assert {c.source for c in cells} == {"bossdb"}
    assert cells[0].source_params == {}, "the phantom's params must not leak into another source"
    assert [c.encoder for c in cells if c.method == "encoder"] == ["pkg.mod:build"] * 2
    assert all(c.encoder is None for c in cells if c.method != "encoder")


def test_duplicate_cells_need_a_tag():
    doubled = {"name": "d", "grid": [{"task": "tiny", "setting": "a", "methods": ["ok"]}] * 2}
    with pytest.raises(ConfigError, match=r"grid\[0\] and grid\[1\] both give cell "
                                          "'tiny-a-ok-s0'; add a distinct 'tag'"):
        expand(parse_suite(doubled))
    # one entry listing a method twice is named as that (there is no second entry to tag)
    twice = {"name": "d", "grid": [{"task": "tiny", "setting": "a", "methods": ["ok", "ok"]}]}
    with pytest.raises(ConfigError, match=r"grid\[0\]\.methods lists 'ok' twice$"):
        expand(parse_suite(twice))
    doubled["grid"] = [{"task": "tiny", "setting": "a", "methods": ["ok"]},
                       {"task": "tiny", "setting": "a", "methods": ["ok"], "tag": "wide"}]
    assert [c.id for c in expand(parse_suite(doubled))] == ["tiny-a-ok-s0", "tiny-a-ok-wide-s0"]


def test_cell_ids_are_file_name_safe():
    assert cell_id("task3", "roi c1", "encoder", 0, "my/enc") == "task3-roi_c1-encoder-my_enc-s0"


def test_the_readme_suite_example_is_a_valid_suite():
    """The README shows how to write a suite: its example must parse and expand as it says."""
    import re

    import yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```yaml\n(name: my-suite.*?)```", readme, re.S).group(1)
    suite = parse_suite(yaml.safe_load(block), origin="README")
    cells = expand(suite)
    assert [c.id for c in cells] == [
        "task1-roi-c1-pca-s0", "task1-roi-c1-pca-s1", "task1-roi-c1-myow-s0",
        "task1-roi-c1-myow-s1", "neural-chewie-1-myow-s0", "neural-chewie-1-raw-s0"]
    assert cells[0].params == {"z_step": 4} and cells[0].preset == "quick"
