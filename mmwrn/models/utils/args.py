"""Argument checks of the public constructors: every message names the
argument, the value, its type when the type is wrong, and the valid choices."""

from collections.abc import Sequence

_NAMES = {int: 'an int', float: 'a float', bool: 'a bool', str: 'a str', dict: 'a dict'}


def _is(value, kind):
    """``isinstance`` where a bool is not an int, and an int is a float."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def got(value):
    """``"str '16'"``: the type and the value, for a message."""
    return f'{type(value).__name__} {value!r}'


def check_choice(name, value, choices, error=ValueError, note=''):
    """``value`` must be one of ``choices`` (a ``TypeError`` when its type is
    none of theirs, else ``error``)."""
    kinds = sorted({type(c) for c in choices}, key=lambda k: k.__name__)
    valid = f'one of {tuple(choices)}{note}'
    if not any(_is(value, k) for k in kinds):
        what = ' or '.join(_NAMES.get(k, k.__name__) for k in kinds)
        raise TypeError(f'{name} must be {what} ({valid}), got {got(value)}')
    if value not in choices:
        raise error(f'{name} must be {valid}, got {value!r}')


def check_number(name, value, kind=int, low=None, high=None, high_open=False):
    """``value`` must be an int (``kind=int``) or a number (``kind=float``) in
    ``[low, high]`` (``[low, high)`` with ``high_open``); None bounds are open."""
    lo = '-inf' if low is None else low
    hi = 'inf' if high is None else high
    valid = f'in [{lo}, {hi}{")" if high_open or high is None else "]"}'
    if low is None and high is None:
        valid = ''
    if not _is(value, kind):
        raise TypeError(
            f'{name} must be {_NAMES[kind]}{" " + valid if valid else ""}, got {got(value)}'
        )
    if (low is not None and value < low) or (
        high is not None and (value >= high if high_open else value > high)
    ):
        raise ValueError(f'{name} must be {valid}, got {value!r}')


def check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be a bool (True or False), got {got(value)}')


def check_cfg(name, value, optional=True):
    """``value`` must be a config dict (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, dict):
        none = ' or None' if optional else ''
        raise TypeError(
            f'{name} must be a config dict{none} (e.g. dict(type=...)), got {got(value)}'
        )


def check_sequence(name, value, length, kind=float, what=''):
    """``value`` must be a sequence (not a str) of ``length`` items of
    ``kind``; ``what`` describes the items (e.g. 'one per level B2-B7')."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != length
        or not all(_is(v, kind) for v in value)
    ):
        note = f' ({what})' if what else ''
        items = {int: 'ints', float: 'floats'}.get(kind, kind.__name__)
        raise (
            TypeError if not isinstance(value, Sequence) or isinstance(value, str) else ValueError
        )(f'{name} must be a sequence of {length} {items}{note}, got {got(value)}')
