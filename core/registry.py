"""One registry base for every pluggable part chosen per record.

Payment providers, register adapters, signing backends and citizen authentication methods
each keep a `Registry` of plugins. A plugin is a small class that registers itself with the
decorator and can say whether its configuration is usable (`check_config`), which
`manage.py check` reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from django.core.checks import CheckMessage


class BasePlugin:
    identifier: str = ""
    verbose_name: str = ""

    def check_config(self) -> list[CheckMessage]:
        """Return Django check messages about this plugin's configuration."""
        return []


P = TypeVar("P", bound=BasePlugin)


class Registry(Generic[P]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._plugins: dict[str, P] = {}

    def register(self, identifier: str) -> Callable[[type[P]], type[P]]:
        def decorator(cls: type[P]) -> type[P]:
            if identifier in self._plugins:
                raise ValueError(f"{self.name}: plugin {identifier!r} is already registered")
            plugin = cls()
            plugin.identifier = identifier
            self._plugins[identifier] = plugin
            return cls

        return decorator

    def __getitem__(self, identifier: str) -> P:
        try:
            return self._plugins[identifier]
        except KeyError:
            raise KeyError(f"{self.name}: no plugin {identifier!r}") from None

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._plugins

    def __iter__(self) -> Iterator[P]:
        return iter(self._plugins.values())

    def choices(self) -> list[tuple[str, str]]:
        return [(p.identifier, str(p.verbose_name or p.identifier)) for p in self]

    def check_config(self) -> list[CheckMessage]:
        messages: list[CheckMessage] = []
        for plugin in self:
            messages.extend(plugin.check_config())
        return messages
