"""Sub-commands that load only when they run, so that ``nuvom --help`` stays quick.

The root group knows each built-in sub-command by name, module and one-line help, and imports
the module (with the worker, discovery, croniter and whatever else it needs) only when the
command is invoked, or asked for its own ``--help`` or completions. Listing the commands, in
``nuvom --help`` or in shell completion, shows the one-line help without importing anything.
Plugins' commands are registered on the first listing, or when a name is not a built-in one.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ..errors import NuvomError


@dataclass(frozen=True)
class LazyCommand:
    """A built-in sub-command: where it lives, and the help line ``nuvom --help`` shows for it."""

    #: The module that defines it, e.g. ``nuvom.cli.worker``.
    module: str
    #: The command function, or the ``typer.Typer`` of a command group, in that module.
    attribute: str
    #: The first paragraph of its help, as the listing shows it (a test keeps the two equal).
    help: str
    #: True for a command group (a ``typer.Typer``); the listing shows groups after commands.
    group: bool = False

    def load(self, name: str) -> Any:
        """Import the module and build the click command exactly as ``add_typer``/``command`` would."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        holder = typer.Typer()
        if self.group:
            holder.add_typer(target, name=name)
        else:
            from .common import handles_errors

            holder.command(name=name)(handles_errors(target))
        return typer.main.get_group(holder).commands[name]


def first_paragraph(text: str) -> str:
    """The part of a command's help the listing shows."""
    return inspect.cleandoc(text).split("\n\n")[0].replace("\n", " ").strip()


class LazyGroup(TyperGroup):
    """The root group: built-in sub-commands from :attr:`lazy_commands`, plugins' on demand."""

    #: The built-in sub-commands loaded on use, in the order ``--help`` lists them.
    lazy_commands: Mapping[str, LazyCommand] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = 0
        self._plugin_names: list[str] | None = None

    @contextmanager
    def _only_listing(self) -> Iterator[None]:
        self._listing += 1
        try:
            yield
        finally:
            self._listing -= 1

    def _plugin_commands(self) -> list[str]:
        """Let plugins add their commands (once); the names they added."""
        if self._plugin_names is None:
            from ..plugins.manager import register_commands
            from .common import exit_code_for, fail

            holder = typer.Typer()
            try:
                register_commands(holder)
            except NuvomError as exc:
                raise fail(f"plugins could not be loaded: {exc}", exit_code_for(exc)) from None
            added = typer.main.get_group(holder).commands
            self._plugin_names = [name for name in added if name not in self.commands]
            for name in self._plugin_names:
                self.commands[name] = added[name]
        return self._plugin_names

    def list_commands(self, ctx: Any) -> list[str]:
        """Built-in commands, then plugins' commands, then built-in groups, then plugins' groups."""
        plugins = self._plugin_commands()
        eager = [name for name in self.commands if name not in plugins]
        lazy_groups = [name for name, spec in self.lazy_commands.items() if spec.group]
        lazy_commands = [name for name in self.lazy_commands if name not in lazy_groups]
        plugin_groups = [name for name in plugins if isinstance(self.commands[name], TyperGroup)]
        plugin_commands = [name for name in plugins if name not in plugin_groups]
        return [*eager, *lazy_commands, *plugin_commands, *lazy_groups, *plugin_groups]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command; a built-in one is imported now unless it is only being listed."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = self.lazy_commands.get(cmd_name)
        if spec is None:
            self._plugin_commands()
            return self.commands.get(cmd_name)
        if self._listing:
            return TyperCommand(cmd_name, help=spec.help)
        self.commands[cmd_name] = command = spec.load(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The help page, listing the sub-commands without importing them."""
        self._plugin_commands()  # a plugin that fails to load fails before any help is printed
        with self._only_listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Completions of sub-command names, without importing them."""
        with self._only_listing():
            return super().shell_complete(ctx, incomplete)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As typer's, with every command name known to its "Did you mean" suggestions."""
        if args and self.get_command(ctx, args[0]) is None:
            with self._only_listing():
                for name in self.lazy_commands:
                    self.commands.setdefault(name, self.get_command(ctx, name))
        return super().resolve_command(ctx, args)
