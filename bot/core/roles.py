"""Who someone is to the bot. Roles come from configuration and the rosters, never from what a message claims."""

from __future__ import annotations

from enum import Enum


class Role(Enum):
    POLICE = "police"
    RESPONDER = "responder"
    SUPERVISOR = "supervisor"
