"""``mtneuro pretrain``: config validation, outputs, and resume after an interrupt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mtneuro.cli.main import main
from mtneuro.errors import ConfigError
from mtneuro.models.checkpoint import load_encoder
from mtneuro.ssl import trainer as trainer_module
from mtneuro.tasks.pretrain.config import PRESETS, make_config
from mtneuro.tasks.pretrain.run import train_settings


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr()


def test_default_config_is_the_mtneuro_protocol():
    config = make_config()
    assert (config.method, config.backbone, config.crop, config.batch_size) == ("myow", "auto", 128, 8)
    assert (config.projector_hidden, config.projector_out) == (4096, 256)
    assert (config.mined_projector_hidden, config.mined_out, config.k) == (4096, 256, 1)
    assert (config.base_momentum, config.weight_decay, config.warmup_epochs) == (0.996, 5e-4, 10)
    assert (config.mined_weight, config.mined_rampup_epochs, config.mine_space) == (0.1, 10, "target")
    settings = train_settings(config)
    assert settings.lr == pytest.approx(0.03 * 8 / 256)  # the LARS scaling rule
    assert settings.pool_size == 8  # a separate pool batch for MYOW
    assert train_settings(make_config(overrides={"method": "byol"})).pool_size == 0


def test_wrong_method_and_key_fail_with_one_line(tmp_path, capsys):
    code, out = run_cli(["pretrain", "--method", "simclr", "--out", str(tmp_path)], capsys)
    assert code == 2
    assert out.err.strip().count("\n") == 0 and "method" in out.err and "simclr" in out.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    code, out = run_cli(["pretrain", "--config", str(bad), "--out", str(tmp_path)], capsys)
    assert code == 2
    assert out.err.strip().count("\n") == 0 and "epochz" in out.err and "epochs" in out.err
    with pytest.raises(ConfigError, match="unknown pretrain preset 'fast'"):
        make_config("fast")
    assert not list(tmp_path.glob("*.pt"))  # failed before any work


def test_pretraining_devices_are_cpu_cuda_cuda_n_or_auto():
    from mtneuro.ssl.distributed import init_distributed

    for name in ("auto", "cpu", "cuda", "cuda:1"):
        assert make_config(overrides={"device": name}).device == name
    for name in ("mps", "gpu", "cuda:x"):
        expected = f"device: expected 'cpu', 'cuda', 'cuda:N' or 'auto', got '{name}'"
        with pytest.raises(ConfigError, match=expected):
            make_config(overrides={"device": name})
    assert init_distributed("auto").device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            init_distributed("cuda:0")


def test_quick_preset_is_valid_and_small():
    config = make_config("quick")
    assert set(PRESETS["quick"]) <= set(config.__dataclass_fields__)
    assert config.backbone == "resnet-tiny" and config.crop <= 64
    steps = config.epochs * (68 // config.batch_size)  # ROI-C1 at z_step 16: 68 tiles
    assert steps <= 128  # seconds on a CPU core
    # ...yet a real run: the EMA target must move well within it (time constant 1 / (1 - tau)),
    # else the online network only regresses a randomly initialised teacher
    assert config.z_step == 16 and 1 / (1 - config.base_momentum) < steps / 2
    assert config.mined_rampup_epochs < config.epochs / 4


def test_phantom_quick_run_then_interrupted_run_resumes(tmp_path, capsys, monkeypatch):
    # two epochs of the quick preset (4 steps each) are enough to test resuming, with a
    # checkpoint after each (the preset writes every 5th)
    every_epoch = tmp_path / "every_epoch.yaml"
    every_epoch.write_text("checkpoint_every: 1\n")
    args = ["pretrain", "--method", "myow", "--source", "phantom", "--quick", "--quiet",
            "--epochs", "2", "--device", "auto", "--out", str(tmp_path / "run"),
            "--config", str(every_epoch)]
    original = trainer_module.Trainer._run_epoch

    def interrupted(self, epoch, *args):
        if epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C during the second epoch
        return original(self, epoch, *args)

    monkeypatch.setattr(trainer_module.Trainer, "_run_epoch", interrupted)
    code, out = run_cli(args, capsys)
    assert code == 130 and "rerun the same command with --resume" in out.err
    # it names where the kept checkpoint stands: after the first of 2 epochs of 4 steps
    assert "from its last checkpoint (step 4/8, epoch 1/2)" in out.err, out.err
    assert out.err.strip().count("\n") == 0, out.err  # said once (it was said twice)
    log = tmp_path / "run" / "train_log.jsonl"
    first_epoch = log.read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in first_epoch] == [0] * 4

    monkeypatch.setattr(trainer_module.Trainer, "_run_epoch", original)
    # the phantom's default seed given now reads the same images: the digest lets it resume
    main([*args, "--resume", "--source-param", "seed=0"])
    lines = log.read_text().splitlines()
    assert lines[:4] == first_epoch  # the first epoch was not redone
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 9))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "pretrain" and metrics["metrics"]["steps"] == 8
    # the throughput and wall time are of the 4 steps this invocation trained, and say so
    assert metrics["metrics"]["steps_run"] == 4
    assert "s of training of the 4 steps resumed here (step " in capsys.readouterr().out
    assert metrics["source"]["source"] == "phantom"
    # "auto" is recorded as the device that ran
    assert metrics["config"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    # the schedule's top (quick: base lr 1.0 x 16 / 256 by the LARS rule), not the last step's lr
    assert metrics["metrics"]["peak_lr"] == pytest.approx(1.0 * 16 / 256)
    assert "lr" not in metrics["metrics"]
    encoder = load_encoder(tmp_path / "run" / "encoder.pt")
    size = make_config("quick").crop
    assert encoder.input_spec["size"] == size
    features = encoder(torch.rand(2, 1, size, size))
    assert features.shape == (2, encoder.out_dim) and torch.isfinite(features).all()

    # resuming the finished run trains nothing and keeps its record (no NaN throughput)
    record = (tmp_path / "run" / "metrics.json").read_bytes()
    capsys.readouterr()
    main([*args, "--resume"])
    assert "already holds all 2 epochs" in capsys.readouterr().out
    assert (tmp_path / "run" / "metrics.json").read_bytes() == record
    assert len(log.read_text().splitlines()) == 8


def test_compile_flag_reaches_the_trainer_settings(tmp_path, capsys, monkeypatch):
    import mtneuro.tasks.pretrain.run as pretrain_module

    seen = []

    def capture(config):
        seen.append(train_settings(config).compile)
        raise ConfigError("stop after the config")

    monkeypatch.setattr(pretrain_module, "run_pretrain", capture)
    for flag in ([], ["--compile"]):
        code, _ = run_cli(["pretrain", "--quick", *flag, "--out", str(tmp_path)], capsys)
        assert code == 2
    assert seen == [False, True]


def test_probe_flag_scores_the_trained_encoder_on_the_test_split(tmp_path, capsys):
    from mtneuro.data.vision import load_vision
    from mtneuro.tasks.probe import extract_features
    from mtneuro.tasks.vision_eval import evaluate_encoder

    out = tmp_path / "run"
    (tmp_path / "c.yaml").write_text("crop: 48\nsetting: roi-c3\n")  # volume-tile settings
    main(["pretrain", "--source", "digits", "--quick", "--epochs", "1", "--probe", "--quiet",
          "--config", str(tmp_path / "c.yaml"), "--out", str(out)])
    printed = capsys.readouterr()
    record = json.loads((out / "metrics.json").read_text())
    metrics = record["metrics"]
    # given, unused (the view below is the whole 8-px image), and said so once
    assert printed.err.count("setting, crop not used: source digits brings its own images") == 1
    assert record["settings_not_used"] == ["setting", "z_step", "crop"]
    probe = metrics["probe"]
    # what ran, resolved: the 8-px digits are viewed whole (no crop) by the quick backbone
    assert metrics["backbone"] == "resnet-tiny"
    assert metrics["view"] == {"kind": "vision", "size": 8}
    assert (f"probe: linear {probe['linear_accuracy']:.3f}, kNN {probe['knn_accuracy']:.3f}"
            in printed.out)
    encoder = load_encoder(out / "encoder.pt")
    train, test = load_vision("digits", "train"), load_vision("digits", "test")
    spec = encoder.input_spec
    assert evaluate_encoder(encoder, train, test, mean=spec["mean"], std=spec["std"]) == probe
    # The kNN figure by a plain loop: 20 nearest by cosine, votes exp(sim / 0.07).
    kwargs = {"mean": spec["mean"], "std": spec["std"]}
    train_f, test_f = (
        torch.nn.functional.normalize(torch.as_tensor(extract_features(encoder, x, **kwargs)), dim=1)
        for x in (train.images, test.images))
    hits = 0
    for feature, label in zip(test_f, test.labels):
        sims = train_f @ feature
        nearest = sims.argsort(descending=True)[:20]
        votes = [float(sims[nearest][train.labels[nearest] == c].div(0.07).exp().sum())
                 for c in range(10)]
        hits += int(max(range(10), key=votes.__getitem__) == int(label))
    assert probe["knn_accuracy"] == pytest.approx(hits / len(test.labels), abs=1 / len(test.labels))
    assert 0.5 < probe["linear_accuracy"] <= 1.0  # far above the 0.1 of chance on 10 digits


def test_settings_not_used_are_those_of_the_mtneuro_volume_tiles():
    from mtneuro.tasks.pretrain.config import make_config, settings_not_used

    assert settings_not_used(make_config("quick", {"source": "phantom"})) == ()
    assert settings_not_used(make_config("quick", {"source": "volume"})) == (
        "setting", "z_step", "crop")
    # crop views of an image set use the crop
    assert settings_not_used(make_config("quick", {"source": "folder", "augment": "mtneuro"})
                             ) == ("setting", "z_step")


def test_resume_with_other_settings_is_refused_before_any_image_is_read(tmp_path, capsys,
                                                                       monkeypatch):
    from mtneuro.tasks.pretrain import run as pretrain_run

    out = str(tmp_path / "run")
    main(["pretrain", "--source", "digits", "--quick", "--epochs", "1", "--quiet", "--out", out])
    capsys.readouterr()

    def no_images(config):
        raise AssertionError("the images were read before the checkpoint was checked")

    monkeypatch.setattr(pretrain_run, "load_training_images", no_images)
    for flags, needle in ((["--epochs", "2"], "epochs was 1, now 2"),
                          (["--epochs", "1", "--method", "byol"], "method was 'myow', now 'byol'")):
        code, printed = run_cli(["pretrain", "--source", "digits", "--quick", *flags, "--quiet",
                                 "--out", out, "--resume"], capsys)
        assert code != 0 and needle in printed.err and "--overwrite" in printed.err
    # under torchrun with 2 processes (before any process group or image)
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, printed = run_cli(["pretrain", "--source", "digits", "--quick", "--epochs", "1",
                             "--quiet", "--out", out, "--resume"], capsys)
    assert code == 2 and "written by one process, this run has 2 processes" in printed.err


def test_ctrl_c_suggests_resume_only_where_a_command_can(monkeypatch):
    from mtneuro import checkpoint_io
    from mtneuro.cli.main import _interrupted

    monkeypatch.setattr(checkpoint_io, "_SAVED", [(Path("c.pt"), "")])  # one, no position

    for argv in (["pretrain", "--quick"], ["task2", "--model", "unet"]):
        assert _interrupted(argv) == ("interrupted; rerun the same command with --resume to "
                                      "continue from its last checkpoint")
    # a suite keeps the cells that finished, not checkpoints of the ones running
    assert _interrupted(["bench", "--suite", "q"]) == (
        "interrupted; rerun the same command with --resume to run the cells that did not finish")
    # no checkpoints, but a run folder that may hold finished seeds: say how to start again
    for command in ("task1", "task3", "neural"):
        assert _interrupted([command, "--seeds", "0", "1"]) == (
            f"interrupted; {command} keeps no checkpoints: rerun the same command to start "
            "again (with --overwrite if it says OUT already holds a run)")
    for argv in (["data", "download", "x"], ["--verbose"]):
        assert _interrupted(argv) == "interrupted"


@pytest.mark.parametrize("rank", ["0", "1"])
def test_under_torchrun_only_rank_0_speaks_for_the_run_folder(tmp_path, capsys, monkeypatch,
                                                              rank):
    """Only rank 0 writes checkpoints, so another rank's "nothing to resume" (it saved
    nothing) would contradict rank 0's "--resume"; warnings are alike on every rank."""
    import warnings

    from mtneuro import checkpoint_io
    from mtneuro.cli.main import Terminated
    from mtneuro.tasks.pretrain import run as pretrain_run

    monkeypatch.setattr(checkpoint_io, "saved_this_process", lambda: False)  # nothing saved yet
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    args = ["pretrain", "--source", "digits", "--quick", "--quiet", "--out", str(tmp_path / rank)]

    def stopped(config):
        # as the package's own code warns (the CLI shows those as one line)
        warnings.warn_explicit("a setting every rank warns about", UserWarning,
                               pretrain_run.__file__, 1)
        raise Terminated

    monkeypatch.setattr(pretrain_run, "run_pretrain", stopped)
    code, printed = run_cli(args, capsys)
    assert code == 143
    lines = [line for line in printed.err.splitlines() if line]  # click ends a line first
    if rank == "0":
        assert lines == [
            "warning: a setting every rank warns about",
            "terminated (SIGTERM) before its first checkpoint, so there is nothing to resume "
            "and what it wrote in OUT is removed; rerun the same command to start again"]
    else:
        assert lines == []

    def failed(config):
        raise ConfigError("this rank's own problem")

    monkeypatch.setattr(pretrain_run, "run_pretrain", failed)
    code, printed = run_cli([*args, "--overwrite"], capsys)
    tag = "" if rank == "0" else " (rank 1)"
    assert (code, printed.err) == (2, f"error{tag}: this rank's own problem\n")


def test_under_torchrun_a_batch_or_pool_the_processes_cannot_share_fails_before_any_data(
        tmp_path, capsys, monkeypatch):
    from mtneuro.tasks.pretrain import run as pretrain_run

    def no_run(config):
        raise AssertionError("the run started before the process count was checked")

    monkeypatch.setattr(pretrain_run, "run_pretrain", no_run)
    monkeypatch.setenv("WORLD_SIZE", "3")
    code, printed = run_cli(["pretrain", "--quick", "--out", str(tmp_path / "a")], capsys)
    assert code == 2 and "error: batch_size: 16 does not split among 3 processes" in printed.err
    monkeypatch.setenv("WORLD_SIZE", "4")
    (tmp_path / "c.yaml").write_text("pool_size: 6\n")
    code, printed = run_cli(["pretrain", "--quick", "--config", str(tmp_path / "c.yaml"),
                             "--out", str(tmp_path / "b")], capsys)
    assert code == 2 and "error: pool_size: 6 does not split among 4 processes" in printed.err


@pytest.mark.parametrize(("saved", "world_size"), [(True, "1"), (True, "2"), (False, "1")])
def test_an_unexpected_error_after_a_checkpoint_says_resume_goes_on(tmp_path, capsys,
                                                                    monkeypatch, saved,
                                                                    world_size):
    from mtneuro import checkpoint_io
    from mtneuro.tasks.pretrain import run as pretrain_run

    def lost(config):  # what gloo raises on rank 0 when another process is killed
        raise RuntimeError("[gloo/pair.cc:545] Read error: Connection reset by peer")

    monkeypatch.setattr(pretrain_run, "run_pretrain", lost)
    monkeypatch.setattr(checkpoint_io, "saved_this_process", lambda: saved)
    monkeypatch.setenv("WORLD_SIZE", world_size)
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(RuntimeError, match="Connection reset by peer"):  # the traceback stays
        main(["pretrain", "--source", "digits", "--quick", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    if not saved:
        assert "--resume" not in err
        return
    lost_line = (" (under torchrun: another process may have ended first, see its lines)"
                 if world_size == "2" else "")
    assert err.splitlines()[-1] == (
        f"error: the run stopped on the error below{lost_line}; its last checkpoint is kept: "
        "rerun the same command with --resume once the cause is fixed")


def test_a_source_with_fewer_images_than_a_batch_names_the_source_and_the_fix(tmp_path, capsys):
    """6 tiles of a volume (3 slices of 64 x 128 px, tile 64) for a batch of 16: the
    trainer's own check named neither the file nor the tile."""
    import numpy as np

    path = tmp_path / "v.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (3, 64, 128), dtype=np.uint8))
    code, out = run_cli(["pretrain", "--source", "volume", "--source-param", f"path={path}",
                         "--source-param", "tile=64", "--source-param", "z_step=1", "--quick",
                         "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and out.err.strip().splitlines()[-1] == (
        f"error: batch_size: source volume (path={path}, tile=64, z_step=1) gave 6 training "
        "images, "
        "fewer than one batch of 16; pass --batch-size 6 or less (batch_size in a config) or "
        "a smaller tile (--source-param tile=N: more tiles per slice)")
    assert not (tmp_path / "run").exists()


def test_quick_thins_a_volume_file_unless_its_z_step_is_given(tmp_path, capsys):
    # every tile of every slice made "--quick" on a 200-slice volume an 85-minute run
    import numpy as np

    path = tmp_path / "v.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (40, 64, 64), dtype=np.uint8))
    base = ["pretrain", "--source", "volume", "--source-param", f"path={path}",
            "--source-param", "tile=64", "--quick", "--out", str(tmp_path / "run")]
    code, out = run_cli(base, capsys)  # slices 0, 16, 32: 3 tiles
    assert code == 2 and "(z_step=16; --source-param z_step=N to choose)" in out.err
    assert "z_step=16) gave 3 training images" in out.err
    code, out = run_cli([*base, "--source-param", "z_step=4"], capsys)
    assert code == 2 and "z_step=4) gave 10 training images" in out.err
    assert make_config("quick", {"source": "phantom"}).source_params == {}
    assert make_config("default", {"source": "volume"}).source_params == {}


def test_a_source_of_one_image_is_not_told_to_use_a_batch_of_two(tmp_path, capsys):
    import numpy as np

    path = tmp_path / "v.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (1, 64, 64), dtype=np.uint8))
    code, out = run_cli(["pretrain", "--source", "volume", "--source-param", f"path={path}",
                         "--source-param", "tile=64", "--quick", "--out",
                         str(tmp_path / "run")], capsys)
    assert code == 2 and out.err.strip().endswith(
        "gave 1 training images, fewer than one batch of 16; give the source more images (a "
        "batch holds at least 2) or a smaller tile (--source-param tile=N: more tiles per "
        "slice)"), out.err
