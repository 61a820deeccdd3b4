"""Chat commands: one module per command family, all registered in one registry."""

from __future__ import annotations

from handlers.registry import Registry


def build_registry() -> Registry:
    from handlers import alarm, override, roster_commands, stats
    from handlers import help as help_commands

    registry = Registry()
    help_commands.register(registry)
    alarm.register(registry)
    roster_commands.register(registry)
    override.register(registry)
    stats.register(registry)
    return registry
