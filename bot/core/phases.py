"""The phases after acceptance and the protection decisions, as handlers, the store and the figures name them."""

from __future__ import annotations

PHASES = ("en_route", "arrived", "assessment", "handed_over")  # in the order they happen
# The protection assessment's outcome for the child: stays home with a safety plan / with a relative / emergency
# placement / other. A fixed list, so the figures for the evaluation can count them and no free text slips in.
DECISIONS = ("safety_plan", "relative", "emergency_placement", "other")
