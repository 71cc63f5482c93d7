"""
Status files for the benchmark: C{N} users, deterministic for a seed.

Names are C{user0} ... C{userN-1}; each status is one of a few hundred
realistic phrases, so many users share a status text as they do on a real
site.  C{--unique} gives every user a status of its own instead (the worst
case for memory).
"""

import random
from typing import List

_PHRASES = [
    "Happy and well",
    "out to lunch",
    "on vacation until Monday",
    "in a meeting",
    "working from home today",
    "at the conference in Paris",
    "alive",
    "busy, do not disturb",
    "gone fishing",
    "back at 14:00",
    "",
    "writing the quarterly report",
    "on call this week",
    "Giving a tutorial now, sorry!",
    "reading mail",
]


def phrases() -> List[str]:
    """
    The status texts a generated file draws from: each phrase in a few
    hundred variants.
    """
    out = []
    for phrase in _PHRASES:
        for room in range(20):
            out.append(f"{phrase} (room {room})" if phrase else "")
    return out


def make(users: int, seed: int = 0, unique: bool = False) -> bytes:
    """
    The bytes of a status file with C{users} users, starting with a comment.
    """
    rng = random.Random(seed)
    pool = phrases()
    if unique:
        lines = [f"user{i}: {rng.choice(pool)} #{i}\n" for i in range(users)]
    else:
        lines = [f"user{i}: {rng.choice(pool)}\n" for i in range(users)]
    return ("# status file for the finger benchmark\n" + "".join(lines)).encode("utf-8")
