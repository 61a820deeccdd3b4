"""Chat commands: one module per command family, all registered in one registry."""

from __future__ import annotations

from handlers import alarm, checkin_answers, handoff, handover, override, phases, roster_commands, stats, trust, web
from handlers import help as help_commands
from handlers.alarm import AlarmLimits
from handlers.registry import Registry


def build_registry(limits: AlarmLimits) -> Registry:
    registry = Registry()
    help_commands.register(registry)
    alarm.register(registry, limits)
    roster_commands.register(registry)
    override.register(registry)
    stats.register(registry)
    phases.register(registry)
    handoff.register(registry)
    handover.register(registry)
    checkin_answers.register(registry)
    web.register(registry)
    trust.register(registry)
    return registry
