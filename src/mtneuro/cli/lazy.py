"""A click group whose sub-commands live in their own modules, imported on use.

Keeps ``mtneuro --help`` fast (no torch import) and lets each sub-command own
one file.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """``commands`` maps a command name to ``"module.path:attribute"``."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module_name, attr = self.lazy_commands[name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[name]} is not a click command")
            return command
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            from mtneuro.registry import close_names

            close = close_names(name, self.list_commands(ctx), n=1)
            if close:  # click names no near command, as it does for a near option
                ctx.fail(f"No such command {name!r} (did you mean {close[0]!r}?).")
        return super().resolve_command(ctx, args)
