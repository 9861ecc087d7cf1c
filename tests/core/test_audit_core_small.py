"""Known answers for small base modules that earlier tests left open (from a mutation audit of
mtneuro.input_sides, .vocab, .devices, .extras, .cpu_memory, .registry and .config): which
sides a network takes, the units of feature columns, which device a setting names, which
extra a missing module belongs to, the glibc settings a retained-memory block applies and
gives back, and how an unknown name, a bad import reference or a bad config file fails in
one line naming the value and what was expected."""

from __future__ import annotations

import dataclasses
import os.path
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import torch

from mtneuro import cpu_memory, extras
from mtneuro.config import from_mapping, load_yaml, load_yaml_mapping, positive
from mtneuro.devices import checked_run_config, resolve_device, with_run_device
from mtneuro.errors import ConfigError
from mtneuro.extras import MissingExtraError, installed_extras, missing_modules, require
from mtneuro.input_sides import (
    MODEL_INPUT_SIDES,
    InputSide,
    check_crop_and_window,
    check_input_depth,
    check_input_side,
)
from mtneuro.registry import (
    Registry,
    check_choice,
    import_callable,
    import_object,
    lazy_exports,
    raised,
    unknown_name_message,
)

# -- input sides ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["unet", "ssl-unet", "highresnet"])
def test_networks_that_resize_or_never_downsample_take_any_side(model: str) -> None:
    # smp's U-Net resizes its skips; HighResNet keeps the resolution (module docstring)
    assert MODEL_INPUT_SIDES[model].describe() == "any side"
    check_crop_and_window(model, 99, 75)


def test_a_model_without_a_rule_is_left_to_the_registry() -> None:
    # the registry's "unknown model" message is the better one; a 2D model has no depth rule
    assert check_input_side("no-such-net", "window", 7) is None
    assert check_input_depth("unet", "depth", 3) is None


def test_a_rule_in_words_and_its_nearest_sides() -> None:
    assert InputSide(1, 4).describe() == "any side, at least 4"
    assert InputSide(16, 128).describe() == "a multiple of 16, at least 128"
    assert InputSide(8).nearest(20) == [16, 24]
    assert InputSide(8).nearest(4) == [8]  # 0 is no side


# -- vocabulary ----------------------------------------------------------------------------


def test_feature_columns_carry_their_units() -> None:
    # fractions of the crop in percent, sizes and distances in pixels; a count has no unit
    from mtneuro.tasks.semantic import FEATURE_TITLES

    assert FEATURE_TITLES["vessel_fraction"] == "Vessels (%)"
    assert FEATURE_TITLES["cell_count"] == "Cell count"
    assert FEATURE_TITLES["nn_distance_exact"] == "Dist (k=1), exact (px)"


# -- devices --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Pretrain:
    device: str = "auto"


@dataclasses.dataclass(frozen=True)
class _Run:
    device: str = "auto"
    pretrain: _Pretrain | None = None


def _gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_auto_names_cuda_where_there_is_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")  # no index: the current GPU


def test_a_gpu_setting_without_that_gpu_names_key_value_and_choices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _gpus(monkeypatch, 2)
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda:2", "train.device")
    assert str(info.value) == ("train.device 'cuda:2': this machine has 2 CUDA device(s) "
                               "(cuda:0 .. cuda:1)")
    _gpus(monkeypatch, 0)
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda", "train.device")
    assert str(info.value) == ("train.device 'cuda': CUDA is not available on this machine; "
                               "use device='cpu' (--device cpu)")


@pytest.mark.parametrize("name", [None, "meta"])
def test_a_value_torch_takes_but_no_run_can_use_is_refused(name: object) -> None:
    # torch.device(None) raises TypeError; "meta" parses but holds no data
    with pytest.raises(ConfigError) as info:
        resolve_device(name, "device")  # type: ignore[arg-type]
    assert str(info.value) == f"device: expected auto, cpu, cuda, cuda:N or mps, got {name!r}"


@pytest.mark.parametrize("gpus", [0, 1])
def test_the_run_record_and_its_pretraining_name_the_device_that_ran(
        monkeypatch: pytest.MonkeyPatch, gpus: int) -> None:
    _gpus(monkeypatch, gpus)
    ran = with_run_device(_Run("auto", _Pretrain("auto")))
    here = "cuda" if gpus else "cpu"
    assert ran == _Run(here, _Pretrain(here))
    assert with_run_device(_Run("cpu")) == _Run("cpu", None)


def test_a_wrong_run_device_or_config_type_names_its_key_or_caller() -> None:
    with pytest.raises(ConfigError, match=r"^task1\.device: expected auto"):
        with_run_device(_Run("gpu"), "task1.device")
    with pytest.raises(ConfigError) as info:
        checked_run_config(_Pretrain(), _Run, "run_task1")
    assert str(info.value) == "run_task1: expected a _Run, got _Pretrain"
    assert checked_run_config(_Run("cpu"), _Run, "run_task1") == _Run("cpu")


# -- extras ---------------------------------------------------------------------------------


def _hide(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    """``import root`` raises ModuleNotFoundError, as if it were not installed."""
    for name in [n for n in sys.modules if n.startswith(root + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, root, None)


def test_an_unknown_extra_lists_the_extras() -> None:
    with pytest.raises(ValueError) as info:
        missing_modules("gpu")
    assert str(info.value) == "unknown extra 'gpu'; expected one of ['bossdb', 'cluster', 'seg']"


def test_installed_extras_come_in_table_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "missing_modules", lambda name: [])
    assert installed_extras() == ["bossdb", "seg", "cluster"]


def test_bossdb_needs_blosc_to_decode_downloaded_cutouts(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "blosc")
    assert "blosc" in missing_modules("bossdb") and "bossdb" not in installed_extras()


def test_a_module_whose_own_dependency_is_missing_names_that_dependency(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the user installed the module; what pip must add is the package it imports
    (tmp_path / "audit_needs_submitit.py").write_text("import submitit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _hide(monkeypatch, "submitit")
    with pytest.raises(MissingExtraError) as info:
        require("audit_needs_submitit", "cluster")
    assert str(info.value) == ("submitit is not installed (needed for running bench cells "
                               'through submitit): pip install "mtneuro[cluster]"')



def test_a_missing_submodule_of_an_installed_package_is_not_called_uninstalled() -> None:
    # pytest is installed; an older release lacking the submodule needs an upgrade
    with pytest.raises(MissingExtraError) as info:
        require("pytest.audit_no_such_submodule", "seg")
    assert str(info.value) == (
        "pytest.audit_no_such_submodule is not in the installed pytest (needed for the task-2 "
        "segmentation networks; an older or partial install?): "
        'pip install --upgrade "mtneuro[seg]"')

# -- retained CPU memory --------------------------------------------------------------------

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_glibc_linux_has_mallopt() -> None:
    # the heap test of test_cpu_memory.py skips without it: a wrong platform check hid it
    assert cpu_memory._glibc_mallopt() is not None


@pytest.mark.skipif(not GLIBC, reason="malloc_trim on leaving")
@pytest.mark.parametrize("succeeds", [1, 0])
def test_a_block_sets_glibc_limits_once_and_restores_its_defaults(
        monkeypatch: pytest.MonkeyPatch, succeeds: int) -> None:
    calls: list[tuple[int, int]] = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return succeeds  # glibc's mallopt returns 0 on failure

    monkeypatch.setattr(cpu_memory, "_glibc_mallopt", lambda: mallopt)
    # malloc.h: M_MMAP_MAX = -4 (default 65536), M_TRIM_THRESHOLD = -1 (default 128 KiB)
    applied = [(-4, 0), (-1, 2**31 - 1)]
    with cpu_memory.retained_cpu_memory() as outer:
        with cpu_memory.retained_cpu_memory() as inner:
            assert calls == applied[:1 + succeeds]  # `and` stops at a failed first call
        assert calls == applied[:1 + succeeds]  # the nested block leaves them to the outer
    assert outer == inner == bool(succeeds)  # a nested block reports the outer one's limits
    assert calls[-2:] == [(-4, 65536), (-1, 128 * 1024)]
    assert cpu_memory._open_blocks == 0


# -- registry -------------------------------------------------------------------------------


def test_an_unknown_name_suggests_up_to_three_close_names() -> None:
    # "manet" (ratio 0.6) is the fourth closest: three suggestions are the most
    message = unknown_name_message("model", "unet2", ["unet", "unet3d", "vnet", "manet"])
    assert message == ("unknown model 'unet2' (did you mean 'unet', 'unet3d', 'vnet'?); "
                       "valid: unet, unet3d, vnet, manet")


def test_check_choice_names_the_value_the_closest_and_all_choices() -> None:
    with pytest.raises(ConfigError) as info:
        check_choice("dim", "3-d", ("2d", "3d"))
    assert str(info.value) == "unknown dim '3-d' (did you mean '3d'?); valid: 2d, 3d"


def test_registry_lists_sorted_names_matching_a_pattern() -> None:
    models: Registry[str] = Registry("model")
    for name in ("vnet", "unet3d", "unet"):
        models.register(name)(str)
    assert models.list() == ["unet", "unet3d", "vnet"]
    assert models.list("unet*") == ["unet", "unet3d"]
    assert "unet" in models and "resnet" not in models


def test_lazy_exports_import_on_first_use_and_refuse_other_names() -> None:
    getattr_ = lazy_exports("os", {"join": "path"})
    assert getattr_("join") is os.path.join
    # AttributeError: hasattr() and `from package import name` rely on it
    with pytest.raises(AttributeError, match=r"^module 'os' has no attribute 'nope'$"):
        getattr_("nope")


def test_an_exception_without_a_message_is_named_alone() -> None:
    assert raised(KeyError()) == "KeyError"
    assert raised(ValueError("bad")) == "ValueError: bad"


def test_import_object_follows_a_dotted_attribute_path() -> None:
    assert import_object("os:path.join") is os.path.join


@pytest.mark.parametrize(("ref", "message"), [
    ("os", "object 'os': expected 'package.module:attribute'"),
    ("os:path.nope", "object 'os:path.nope': module 'os' has no attribute 'path.nope'"),
    ("audit_no_such_module:f", ("object 'audit_no_such_module:f': cannot import module "
                                "'audit_no_such_module' (No module named 'audit_no_such_module'); "
                                "the folder holding its package must be on PYTHONPATH, e.g. run "
                                "PYTHONPATH=. mtneuro ... from that folder")),
])
def test_a_bad_import_reference_names_it_and_why(ref: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        import_object(ref)
    assert str(info.value) == message


@pytest.mark.parametrize(("ref", "message"), [
    ("os", "encoder 'os': expected 'package.module:callable'"),
    ("os:sep", "encoder 'os:sep': 'sep' is not callable"),
])
def test_an_encoder_reference_must_name_a_callable(ref: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        import_callable(ref)
    assert str(info.value) == message


def test_a_user_module_needing_a_missing_extra_keeps_the_pip_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "audit_needs_cluster.py").write_text(
        "from mtneuro.extras import require\nrequire('submitit', 'cluster')\ndef build(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(MissingExtraError, match=r'pip install "mtneuro\[cluster\]"$'):
        import_object("audit_needs_cluster:build")


# -- config ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    width: int = 1


@dataclass(frozen=True)
class Other:
    depth: int = 1


@dataclass(frozen=True)
class Shapes:
    crops: tuple[int, ...] = (1,)
    kinds: list[int] = field(default_factory=list)
    limit: int | None = None
    rate: float = field(default=0.5, metadata=positive("float"))
    params: dict[str, int] = field(default_factory=dict)
    block: Part | Other = field(default_factory=Part)
    derived: int = field(default=0, init=False)


@pytest.mark.parametrize(("data", "message"), [
    ({"crops": 3}, "crops: expected list of int, got 3"),
    ({"limit": "x"}, "limit: expected int or null, got 'x'"),
    ({"rate": -1}, "rate: expected float > 0, got -1"),  # the value as the user wrote it
    ({"derived": 1}, ("derived: unknown key; expected one of: crops, kinds, limit, rate, "
                      "params, block")),  # set in __post_init__ or so: no setting
])
def test_a_wrong_value_names_what_was_expected_in_words(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(Shapes, data)
    assert str(info.value) == message


@dataclass(frozen=True)
class Choices:
    classes: Literal[3, 4] = 3
    flag: Literal[0, 1] = 0


@pytest.mark.parametrize(("data", "message"), [
    ({"classes": 3.0}, "classes: expected one of 3, 4, got 3.0"),  # 3.0 == 3 in Python
    ({"flag": True}, "flag: expected one of 0, 1, got True"),  # True == 1 in Python
])
def test_an_int_choice_is_not_an_equal_float_or_bool(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(Choices, data)
    assert str(info.value) == message


def test_an_int_choice_given_as_a_numpy_int_is_the_plain_int() -> None:
    classes = from_mapping(Choices, {"classes": np.int64(4)}).classes
    assert classes == 4 and type(classes) is int


def test_lists_stay_lists_and_mappings_are_copied() -> None:
    params = {"a": 1}
    config = from_mapping(Shapes, {"kinds": (1, 2), "params": params})
    assert config.kinds == [1, 2] and type(config.kinds) is list
    assert config.params == params and config.params is not params  # frozen: no shared dict


def test_a_union_of_two_configs_takes_the_one_whose_keys_fit() -> None:
    assert from_mapping(Shapes, {"block": {"depth": 3}}).block == Other(depth=3)
    assert from_mapping(Shapes, {"block": {"width": 2}}).block == Part(width=2)


def test_an_empty_config_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_yaml_mapping(path) == {}
    assert load_yaml(path, Shapes) == Shapes()


def test_a_bad_config_file_is_named_with_why(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with pytest.raises(ConfigError) as info:
        load_yaml_mapping(path)
    assert str(info.value) == f"config file not found: {path}"
    path.write_text("- a\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_mapping(path)
    assert str(info.value) == f"{path}: expected a mapping at the top level, got list"
    path.write_bytes(b"\xff\xfe lr: 1\n")  # not UTF-8: a binary file passed by mistake
    with pytest.raises(ConfigError, match=r"c\.yaml: cannot read it as a YAML text file \("):
        load_yaml_mapping(path)
