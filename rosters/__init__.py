"""The roster engine: for an area at an instant, who is paged first, second and last.

Pure and free of I/O except reading its own folder of TOML (and .ics) files; see rosters/examples/ for the format.
"""

from rosters.chain import Chain, ChainStep, OnCall
from rosters.errors import RosterError, TimeError, UnknownArea, UnknownUnit
from rosters.gaps import find_gaps
from rosters.ics import person_feed, person_ics, unit_feed, unit_ics
from rosters.load import load_dir
from rosters.model import (
    ROLES,
    Area,
    EscalationStep,
    Gap,
    Leave,
    MemberChange,
    OfficeHours,
    Override,
    Person,
    Rotation,
    Shift,
    Unit,
)
from rosters.roster import Roster
from rosters.wallclock import parse_instant

__all__ = [
    "ROLES",
    "Area",
    "Chain",
    "ChainStep",
    "EscalationStep",
    "Gap",
    "Leave",
    "MemberChange",
    "OfficeHours",
    "OnCall",
    "Override",
    "Person",
    "Roster",
    "RosterError",
    "Rotation",
    "Shift",
    "TimeError",
    "Unit",
    "UnknownArea",
    "UnknownUnit",
    "find_gaps",
    "load_dir",
    "parse_instant",
    "person_feed", "person_ics",
    "unit_feed", "unit_ics",
]
