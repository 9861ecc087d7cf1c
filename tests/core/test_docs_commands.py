"""Every ``mtneuro ...`` command line written in the docs parses as the CLI is now.

README.md, docs/*.md and the command lines of benchmarks/README.md show commands to copy;
an option renamed or removed in the code leaves them wrong without any test noticing.
Here each one is parsed by the command's own click parser (the sub-command exists, each
option exists, an option that takes a value has one, there is no stray argument), every
value that is no placeholder is converted by the option's type (a choice, a number range)
and, for the text options a command checks itself (sources, suites, recordings, models),
looked up in the names the code knows. Options written alone in the prose must belong to
some command, and relative links must lead to files. Nothing runs: a few seconds in all.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path

import click
import pytest

from mtneuro.bench.suite import builtin_suites
from mtneuro.cli.main import cli
from mtneuro.data.catalog import dataset_names
from mtneuro.data.sources import SOURCE_NAMES
from mtneuro.vocab import SEGMENTATION_MODEL_DIMS, SSL_METHODS, VISION_SOURCES

REPO = Path(__file__).resolve().parents[2]
#: the user docs; benchmarks/README.md for its mtneuro command lines only
USER_DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DOCS = [*USER_DOCS, REPO / "benchmarks" / "README.md"]

#: ``mtneuro`` followed by a sub-command or an option (``mtneuro.evaluate`` is Python).
_COMMAND = re.compile(r"(?<![\w./-])mtneuro\s+(?=[a-z-])")
#: where a written command ends: a comment, the next shell command, a pipe, prose
_END = re.compile(r"\s#|&&|;|\||[()]")
#: values standing for the reader's own (DIR, N, NAME, ...): their type is not checked
_PLACEHOLDER = re.compile(r"^([A-Z][A-Z_]*|\.\.\.|<[^>]*>)$")
#: drawn lines that name commands without being one (docs/ARCHITECTURE.md's flow diagram)
_NOT_COMMANDS = ("mtneuro task1 / neural",)
#: options of other programs written in the docs' prose (pytest, pip, torchrun, the MYOW
#: reference code's train_monkey.py)
_OTHER_PROGRAMS = {"--import-mode", "--index-url", "--standalone", "--nproc_per_node",
                   "--mined_weight", "--num_workers"}


def _one_of(valid: Iterable[str]) -> Callable[[str], bool]:
    valid = tuple(valid)
    return lambda value: value in valid


#: (command, parameter) -> the values it accepts, for the text options whose values the
#: command checks itself after parsing (click sees a plain string)
VALUES = {
    ("mtneuro pretrain", "source"): _one_of((*SOURCE_NAMES, *VISION_SOURCES)),
    ("mtneuro pretrain", "method"): _one_of(SSL_METHODS),
    ("mtneuro task2", "model"): _one_of(SEGMENTATION_MODEL_DIMS),
    ("mtneuro neural", "data"): lambda v: v in dataset_names() or v.endswith((".npz", ".npy")),
    ("mtneuro data download", "name"): _one_of(dataset_names()),
    ("mtneuro bench", "suite"): lambda v: v in builtin_suites() or v.endswith((".yaml", ".yml")),
    **{(f"mtneuro {c}", "source"): _one_of(SOURCE_NAMES)
       for c in ("task1", "task2", "task3", "bench", "data fetch")},
    # a volume file of the user's, as pre-training reads it
    **{(f"mtneuro {c}", "source"): _one_of((*SOURCE_NAMES, "volume"))
       for c in ("data info", "data preview")},
}


def _code_lines(text: str) -> list[tuple[int, str, bool]]:
    """``(line number, text, in code)`` of every line, a shell command continued with
    ``\\`` joined on its first line (its other lines left empty, so numbers stay right)."""
    out: list[tuple[int, str, bool]] = []
    in_fence = False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fence = line.lstrip().startswith("```")
        in_fence ^= fence
        code = in_fence or fence or line.startswith("    ")
        if pending is not None:
            out.append((number, "", True))
            number, line = pending[0], pending[1] + " " + line.strip()
            pending = None
        if code and not fence and line.rstrip().endswith("\\"):
            pending = (number, line.rstrip()[:-1])
            continue
        out.append((number, "" if fence else line, code))
    return sorted(out)


def _name(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def written_commands(path: Path) -> list[tuple[str, str]]:
    """``(where, command)`` of every ``mtneuro`` command line in the file, each cut at its
    end (comment, ``&&``, ``;``, prose); code blocks count, and so do inline code spans,
    also one that a paragraph breaks over two lines."""
    text = path.read_text(encoding="utf-8").replace("$(which mtneuro)", "mtneuro")
    pieces: list[tuple[int, str]] = []
    prose = []  # the text outside code blocks, code lines blanked (line numbers kept)
    for number, line, code in _code_lines(text):
        if code:
            # a code line's comment is prose ("# + mtneuro bench --executor slurm / ...")
            pieces.append((number, re.split(r"(?:^|\s)#", line)[0]))
        prose.append("" if code else line)
    joined = "\n".join(prose)
    for span in re.finditer(r"`([^`\n]+(?:\n[^`\n]+)?)`", joined):
        number = joined.count("\n", 0, span.start()) + 1
        pieces.append((number, " ".join(span.group(1).split())))
    found = []
    for number, piece in sorted(pieces):
        for match in _COMMAND.finditer(piece):
            command = _END.split(piece[match.start():])[0].strip()
            if not command.startswith(_NOT_COMMANDS):
                found.append((f"{_name(path)}:{number}", command))
    return found


def _leaf(args: list[str]) -> tuple[click.Command, list[str], str]:
    """The sub-command ``args`` name and the arguments left for it."""
    command: click.Command = cli
    path = "mtneuro"
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        ctx = click.Context(command, info_name=path)
        sub = command.get_command(ctx, args[0])
        if sub is None:
            raise click.UsageError(f"no command {args[0]!r} in {path}")
        command, path, args = sub, f"{path} {args[0]}", args[1:]
    return command, args, path


def check_command(command: str) -> None:
    """Parse ``mtneuro ...`` as the CLI would, converting every value that is no
    placeholder; raise :class:`click.UsageError` (or ``BadParameter``) where it fails.

    Nothing runs and nothing is read: a ``Path`` value is not checked (the docs name
    files the reader makes), nor are options a fragment of prose leaves out.
    """
    args = shlex.split(command)[1:]
    if args == ["--version"]:
        return
    leaf, args, path = _leaf(args)
    if isinstance(leaf, click.Group):
        if args and args[0] not in ("--help", "-h"):
            raise click.UsageError(f"{path}: expected a sub-command, got {' '.join(args)}")
        return
    ctx = click.Context(leaf, info_name=path)
    # a fragment naming an option ("`mtneuro bench --encoder`") has no value after it
    last = next((p for p in leaf.params if args and args[-1] in p.opts), None)
    if isinstance(last, click.Option) and not last.is_flag:
        args = [*args, "VALUE"]
    opts, extra, _ = leaf.make_parser(ctx).parse_args(args=list(args))
    by_name = {p.name: p for p in leaf.params}
    for name, value in opts.items():
        param = by_name[name]
        if getattr(param, "is_flag", False) or isinstance(param.type, click.Path):
            continue
        accepts = VALUES.get((path, name), lambda _: True)
        for item in value if isinstance(value, list | tuple) else [value]:
            # not given (a fragment: `mtneuro data download`): click's UNSET, no string
            if isinstance(item, str) and not _PLACEHOLDER.match(item):
                param.type.convert(item, param, ctx)
                if not accepts(item):
                    raise click.BadParameter(f"{item!r} is not a value it takes", ctx, param)
    if extra:
        raise click.UsageError(f"{path}: unexpected argument(s) {' '.join(extra)}")
    more = opts.get("more_seeds")  # the values after --seeds' first (click: a tuple if any)
    if isinstance(more, list | tuple) and more and not opts.get("seeds"):
        raise click.UsageError(f"{path}: argument(s) {' '.join(more)} without --seeds")


def _all_options() -> set[str]:
    """Every long option (and its ``--no-`` form) of every mtneuro command."""
    names: set[str] = set()

    def walk(command: click.Command, path: str) -> None:
        ctx = click.Context(command, info_name=path)
        for param in command.get_params(ctx):
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), f"{path} {name}")

    walk(cli, "mtneuro")
    return names


COMMANDS = [c for doc in DOCS for c in written_commands(doc)]


def test_every_command_line_of_a_code_block_is_checked():
    """The extraction misses none of the lines that start with ``mtneuro`` in a fenced
    block (else the checks below would pass on commands they never saw)."""
    written = [c for _, c in COMMANDS]
    starts = [line.strip() for doc in DOCS for _, line, code in
              _code_lines(doc.read_text(encoding="utf-8")) if code and
              line.strip().startswith("mtneuro ")]
    assert len(starts) > 20
    missed = [line for line in starts if not any(line.startswith(c) for c in written)]
    assert not missed, missed


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_written_command_parses(where, command):
    try:
        check_command(command)
    except click.ClickException as err:
        pytest.fail(f"{where}: `{command}`: {err.format_message()}")


def test_options_named_in_prose_exist():
    """An option written alone in the docs (`--no-refit`, `--split kfold`) belongs to
    some mtneuro command (the benchmark scripts' own options live in their command
    lines of benchmarks/README.md, which this does not read)."""
    known = _all_options() | _OTHER_PROGRAMS
    unknown = []
    for doc in USER_DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for span in re.findall(r"`(--[a-z][^`]*)`", line):
                option = re.split(r"[\s=]", span)[0]
                if option not in known:
                    unknown.append(f"{doc.relative_to(REPO)}:{number}: {span}")
    assert not unknown, "options in the docs that no mtneuro command has:\n" + "\n".join(unknown)


@pytest.mark.parametrize("command", [
    "mtneuro pretrain --method myow --quick --made-up-option 3 --out runs/x",
    "mtneuro task1 --setting roi-c9 --method pca --out runs/x",
    "mtneuro neural --data chewie-1 --split sideways --out runs/x",
    "mtneuro bench --jobs 0 --out runs/x",
    "mtneuro task2 --model unet --out runs/x stray",
    "mtneuro data fetch-all --cache DIR",
    "mtneuro task3 --method pca --source phantasm --out runs/x",
    "mtneuro data download chewie-9",
    "mtneuro bench --suite quik --out runs/x",
])
def test_a_wrong_command_is_caught(command):
    """The check itself fails on what a doc could get wrong."""
    with pytest.raises(click.ClickException):
        check_command(command)


def test_links_in_the_docs_lead_to_files():
    """Every relative markdown link (``[text](path)``) names a file or folder that exists."""
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text(encoding="utf-8")):
            if "://" not in target and not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert not broken, "links to nothing:\n" + "\n".join(broken)


def test_a_doc_with_a_made_up_option_fails(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("Run\n\n```bash\nmtneuro task3 --method pca --quik --out runs/t3\n```\n"
                   "or `mtneuro neural --data chewie-1 --refit-twice --out r`.\n")
    commands = [c for _, c in written_commands(doc)]
    assert len(commands) == 2
    for command in commands:
        with pytest.raises(click.NoSuchOption):
            check_command(command)
