"""Stacking shifts: whatever is laid down later hides what it covers of what lies below."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")
Piece = tuple[float, float, T]


def paint(pieces: Iterable[Piece[T]]) -> list[Piece[T]]:
    """Lay `pieces` down in the order given; return the visible parts, in time order.

    Callers order pieces lowest precedence first, so the result agrees with "highest precedence, then latest start,
    wins" at every instant. Quadratic, which is fine for the few hundred shifts a displayed range holds.
    """
    visible: list[Piece[T]] = []
    for start, end, value in pieces:
        if end <= start:
            continue
        kept: list[Piece[T]] = []
        for a, b, below in visible:
            if b <= start or a >= end:
                kept.append((a, b, below))
                continue
            if a < start:
                kept.append((a, start, below))
            if b > end:
                kept.append((end, b, below))
        kept.append((start, end, value))
        visible = kept
    visible.sort(key=lambda piece: piece[0])
    return visible
