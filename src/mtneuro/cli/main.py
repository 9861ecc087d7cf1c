"""Entry point of the ``mtneuro`` command line."""

from __future__ import annotations

import errno
import platform
import signal
import sys
from typing import Any

import click

from mtneuro import __version__, warning_lines
from mtneuro import progress as _progress  # noqa: F401 - starts the log-line clock
from mtneuro.cli.lazy import LazyGroup
from mtneuro.errors import MtneuroError
from mtneuro.torchrun_env import torchrun_int
from mtneuro.warning_lines import other_rank

COMMANDS = {
    "data": "mtneuro.cli.data:data",
    "pretrain": "mtneuro.cli.pretrain:pretrain",
    "neural": "mtneuro.cli.neural:neural",
    "task1": "mtneuro.cli.task1:task1",
    "task2": "mtneuro.cli.task2:task2",
    "task3": "mtneuro.cli.task3:task3",
    "bench": "mtneuro.cli.bench:bench",
    "report": "mtneuro.cli.report:report",
    "compare": "mtneuro.cli.compare:compare",
}
#: Commands that compute with torch: their threads follow the CPUs the process may use.
TORCH_COMMANDS = ("pretrain", "neural", "task1", "task2", "task3", "bench")
HELP_FLAGS = {"-h", "--help"}  # help imports no torch


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``mtneuro --version``: the installed version, the Python and which extras are installed."""
    if not value or ctx.resilient_parsing:
        return
    from mtneuro.extras import installed_extras

    extras = ", ".join(installed_extras()) or "none"
    click.echo(f"mtneuro {__version__} (Python {platform.python_version()}; extras: {extras})")
    ctx.exit()


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": sorted(HELP_FLAGS), "max_content_width": 100},
)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version, the Python and the installed extras, then exit.")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Learn and benchmark representations of brain data across scales.

    MTNeuro tasks (region classification, microstructure segmentation,
    semantic-feature decoding) and neural decoding, with BYOL / MYOW
    self-supervised pretraining. Every sub-command has --help.
    """
    if ctx.invoked_subcommand in TORCH_COMMANDS and not HELP_FLAGS & set(sys.argv[1:]):
        from mtneuro.threads import set_torch_threads

        set_torch_threads()  # the CPUs this process may use (affinity, quota, OMP_NUM_THREADS)


#: errors of a write that found no room (disk full, quota, RLIMIT_FSIZE)
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
#: errors of a file or folder this process may not touch (ownership, immutable, read-only)
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
#: click >= 8.2 raises this (a UsageError) for a group called without a command; older
#: click prints the help itself
_NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _named_path(err: OSError) -> str:
    """The path an error names, a temporary file of an atomic write named by its target."""
    from pathlib import Path

    from mtneuro.cli.run_folder import TORN_WRITE

    path = Path(err.filename or "a file")
    torn = TORN_WRITE.match(path.name)
    return str(path.with_name(torn["target"]) if torn else path)


#: Commands that keep checkpoints and continue from them with ``--resume``.
RESUMABLE_COMMANDS = ("pretrain", "task2", "bench")
#: Commands that write a run folder but keep no checkpoint: a rerun starts again.
RESTARTED_COMMANDS = ("task1", "task3", "neural")
_START_AGAIN = ("rerun the same command to start again (with --overwrite if it says OUT already "
                "holds a run)")


def _command(argv: list[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "")


def _saved_a_checkpoint() -> bool:
    """Whether this process wrote a checkpoint (checkpoint_io not imported yet: none)."""
    saved = sys.modules.get("mtneuro.checkpoint_io")
    return bool(saved and saved.saved_this_process())


def _last_position() -> str:
    """`` (step 40/800, epoch 10/200)``: where the last checkpoint this process wrote stands,
    or "" (a resumed run stopped before its next one: the checkpoint it resumed from)."""
    saved = sys.modules.get("mtneuro.checkpoint_io")
    position = saved.last_position() if saved else ""
    return f" ({position})" if position else ""


def _interrupted(argv: list[str]) -> str:
    command = _command(argv)
    if command == "bench":  # a suite keeps finished cells, not checkpoints of running ones
        return ("interrupted; rerun the same command with --resume to run the cells that did "
                "not finish")
    if command in RESUMABLE_COMMANDS:
        if "--resume" not in argv and not _saved_a_checkpoint():
            # what the run wrote in OUT is gone (cli.run_folder): the same command starts again
            return ("interrupted before its first checkpoint, so there is nothing to resume and "
                    "what it wrote in OUT is removed; rerun the same command to start again")
        return (f"interrupted; rerun the same command with --resume to continue from its last "
                f"checkpoint{_last_position()}")
    if command in RESTARTED_COMMANDS:  # e.g. a neural run's finished seed-S/ folders
        return f"interrupted; {command} keeps no checkpoints: {_START_AGAIN}"
    return "interrupted"


def _resume_hint(argv: list[str]) -> str | None:
    """After an unexpected error: that the last checkpoint is kept and ``--resume`` goes on,
    where this process wrote one (rank 0 under torchrun); else None."""
    if _command(argv) not in ("pretrain", "task2") or not _saved_a_checkpoint():
        return None
    lost = " (under torchrun: another process may have ended first, see its lines)" if (
        torchrun_int("WORLD_SIZE", 1) > 1) else ""
    return (f"error: the run stopped on the error below{lost}; its last checkpoint"
            f"{_last_position()} is kept: rerun the same command with --resume once the cause "
            "is fixed")


def _out_of_memory(err: BaseException) -> bool:
    """A failed allocation: Python's, torch's CPU allocator's or a GPU's (torch's
    ``OutOfMemoryError``, a RuntimeError, is matched by name: main imports no torch)."""
    text = str(err)[:500].lower()
    return (isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"
            or (isinstance(err, RuntimeError)
                and ("can't allocate memory" in text or "out of memory" in text)))


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler's stop), raised where the command runs so that its
    clean-up and Ctrl-C's message apply; by default SIGTERM ended it with no word."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one line and exit 2, Ctrl-C exits 130, SIGTERM 143."""
    import threading

    warning_lines.install()
    saved = sys.modules.get("mtneuro.checkpoint_io")  # not imported yet: nothing saved
    if saved is not None:
        saved.forget_saved()  # what this command saves, not an earlier one of this process
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        _run(argv)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
            if argv is None:
                # The console script: the command has ended and said so. A late Ctrl-C would
                # land in interpreter shutdown (torch's finalisers) as a traceback, exit 0.
                signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run(argv: list[str] | None) -> None:
    try:
        # without standalone mode click returns a command's exit code instead of exiting
        result = cli.main(args=argv, prog_name="mtneuro", standalone_mode=False)
    except click.exceptions.NoSuchOption as err:  # one line, like every user error
        hint = f"; did you mean {', '.join(err.possibilities)}?" if err.possibilities else ""
        if err.option_name == "--resume":  # what to do instead matters more than a near name
            command = err.ctx.command_path if err.ctx is not None else "this command"
            hint = (f"; {command} keeps no checkpoints, so a stopped run is run again: add "
                    "--overwrite to replace what its --out folder holds")
        where = f"{err.ctx.command_path} --help" if err.ctx is not None else "--help"
        click.echo(f"error: no such option: {err.option_name} (see {where}){hint}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt) as err:  # click turns Ctrl-C into Abort
        message = _interrupted(sys.argv[1:] if argv is None else argv)
        terminated = isinstance(err, Terminated) or isinstance(err.__cause__, Terminated)
        if terminated:
            message = "terminated (SIGTERM)" + message.removeprefix("interrupted")
        if not other_rank():  # the other ranks saved nothing: what they would say is wrong
            click.echo(message, err=True)
        sys.exit(143 if terminated else 130)
    except _NoArgsIsHelp as err:  # `mtneuro`, `mtneuro data` alone: the help, as it is
        click.echo(err.ctx.get_help() if err.ctx is not None else err.format_message())
        sys.exit(err.exit_code)
    except click.UsageError as err:  # one line, not click's usage block
        where = f"{err.ctx.command_path} --help" if err.ctx is not None else "--help"
        message = " ".join(err.format_message().split())
        click.echo(f"error: {message} (see {where})", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except MtneuroError as err:
        rank = other_rank()  # tagged, not hidden: one rank's own failure must still show
        click.echo(f"error{f' (rank {rank})' if rank else ''}: {err}", err=True)
        sys.exit(2)
    except OSError as err:
        if err.errno in _NO_PERMISSION:  # the commands check --out first; a later path can fail
            click.echo(f"error: {_named_path(err)}: {err.strerror}; change its permissions or "
                       "choose another place", err=True)
            sys.exit(2)
        if err.errno not in _NO_ROOM:
            raise
        # a write to a handle names no file: most often standard output (> /dev/full)
        what = err.filename or "its output (standard output, or a file the system did not name)"
        click.echo(f"error: cannot write {what}: {err.strerror} (disk full or a file-size "
                   "limit); what was written before is kept whole", err=True)
        sys.exit(1)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except Exception as err:
        # an unexpected failure (a bug, another torchrun process lost) after a checkpoint:
        # the traceback follows, but what is kept and how to go on comes first
        hint = _resume_hint(sys.argv[1:] if argv is None else argv)
        if _out_of_memory(err):  # a setting too big for this machine, not a bug: one line
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            click.echo(f"error: out of memory ({first[:200]}); lower the batch size or the "
                       "input / crop size, or run on a machine with more memory"
                       + (f"\n{hint.removeprefix('error: ')}" if hint else ""), err=True)
            sys.exit(1)
        if hint:
            click.echo(hint, err=True)
        raise
    if isinstance(result, int) and result != 0:
        sys.exit(result)


if __name__ == "__main__":
    main()
