# -*- test-case-name: tests.app.test_tap -*-
"""
Coercers for numeric command-line options, each naming its option when it
refuses a value.
"""

from typing import Callable


def number(
    option: str, kind: Callable[[str], float], minimum: float, inclusive: bool, doc: str
) -> Callable[[str], float]:
    """
    A coercer for a numeric option.

    @param option: the option's name as the user writes it (C{--timeout}).
    @param kind: L{int} or L{float}.
    @param minimum: the least value allowed.
    @param inclusive: whether C{minimum} itself is allowed.
    @param doc: what the value must be, for C{--help} and the refusal.
    """
    what = doc.rstrip(".").lower()

    def coerce(value: str) -> float:
        try:
            result = kind(value)
        except ValueError:
            result = float("nan")
        if not (result >= minimum if inclusive else result > minimum) or result == float("inf"):
            raise ValueError(f"{option} must be {what}, not {value!r}")
        return result

    coerce.coerceDoc = doc  # type: ignore[attr-defined]
    return coerce


def seconds(option: str) -> Callable[[str], float]:
    """
    A coercer for a positive number of seconds.
    """
    return number(option, float, 0, False, "A positive number of seconds.")


def positive(option: str) -> Callable[[str], float]:
    """
    A coercer for a positive whole number.
    """
    return number(option, int, 1, True, "A positive whole number.")
