"""az's generic update arguments, ``--set path=value`` and ``--remove path``, as pure functions.

Paths are written as in az (``osProfile.linuxConfiguration.patchSettings.patchMode``, ``zones[0]``,
``tags.owner``): relative to the resource's ``properties`` unless they start with a top-level member of
the resource (``tags``, ``zones``, ``location``, ``properties``, ...). Keys that already exist match
case-insensitively and keep their stored spelling. Values are JSON when they parse as JSON (``true``,
``3``, ``{"a": 1}``, ``"quoted"``), else plain strings (``AutomaticByPlatform``) — except that a number
or boolean written over a string (``zones[0]=2``, ``osProfile.computerName=1234``) or as a tag value
stays a string, as az's typed models send it.

An update is computed, not guessed: :func:`apply` runs every edit on a copy of the current resource, and
:func:`merge_diff` turns the difference into the ARM PATCH (JSON merge patch) body, so ``--set`` of an
object replaces it, ``--remove`` becomes ``null``, and a list edit sends the whole new list.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guestpatch.errors import InvalidInput

#: Members of an ARM resource envelope; any other first segment is a member of ``properties``.
TOP_LEVEL = frozenset({
    "id", "name", "type", "location", "tags", "zones", "properties", "identity", "plan", "etag",
    "extendedLocation", "placement", "managedBy", "resources", "systemData",
})

Segment = str | int
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[-?\d+\])*)")
_INDEX = re.compile(r"\[(-?\d+)\]")
_MISSING = object()


@dataclass(frozen=True)
class Edit:
    """One ``--set`` or ``--remove``: an absolute path into the resource and, for ``--set``, the value."""

    flag: str  # "--set" | "--remove"
    text: str  # as the user wrote it, for messages
    path: tuple[Segment, ...]
    value: Any = None
    raw: str | None = None  # the value as written, for --set

    @property
    def remove(self) -> bool:
        return self.flag == "--remove"


def parse_path(text: str, *, flag: str) -> tuple[Segment, ...]:
    """``a.b[0].c`` → ``("properties", "a", "b", 0, "c")`` (or without ``properties`` for top-level members)."""
    segments: list[Segment] = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part.strip())
        if not match:
            raise InvalidInput(
                f"'{text}' is not a property path: write names separated by dots, with [N] for list items "
                "(for example osProfile.linuxConfiguration.patchSettings.patchMode or zones[0]).",
                target=flag,
            )
        segments.append(match[1])
        segments.extend(int(i) for i in _INDEX.findall(match[2]))
    first = segments[0]
    if isinstance(first, str) and first not in TOP_LEVEL:
        segments.insert(0, "properties")
    return tuple(segments)


def parse_value(text: str) -> Any:
    """JSON when the text is JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_set(expression: str) -> Edit:
    """``path=value`` → an :class:`Edit`."""
    path, sep, value = expression.partition("=")
    if not sep or not path.strip():
        raise InvalidInput(f"'{expression}' is not of the form path=value.", target="--set")
    return Edit("--set", expression, parse_path(path, flag="--set"), parse_value(value), raw=value)


def parse_remove(expression: str) -> Edit:
    if not expression.strip():
        raise InvalidInput("--remove needs a property path.", target="--remove")
    return Edit("--remove", expression, parse_path(expression, flag="--remove"))


def apply(document: dict[str, Any], edit: Edit) -> None:
    """Run ``edit`` on ``document`` in place (``--set`` creates missing objects on the way)."""
    container: Any = document
    for depth, segment in enumerate(edit.path[:-1]):
        nxt = edit.path[depth + 1]
        child = _child(container, segment, edit, create=not edit.remove)
        if child is _MISSING or child is None:
            if edit.remove:
                raise _no_such(edit)
            child = [] if isinstance(nxt, int) else {}
            _assign(container, segment, child, edit)
        container = child
    last = edit.path[-1]
    if edit.remove:
        if _child(container, last, edit, create=False) is _MISSING:
            raise _no_such(edit)
        if isinstance(container, dict):
            del container[_key(container, str(last))]
        else:
            del container[int(last)]
    else:
        _assign(container, last, _typed(edit, container, _child(container, last, edit, create=False)), edit)


def _typed(edit: Edit, container: Any, existing: Any) -> Any:
    """The value to store: a number or boolean written where a string is (a string property, a tag value,
    an item of a list of strings) stays the text as written, as a typed SDK would send it
    (``zones[0]=2`` → ``"2"``)."""
    scalar = isinstance(edit.value, bool | int | float)
    is_tag = len(edit.path) == 2 and edit.path[0] == "tags"
    strings = isinstance(container, list) and bool(container) and all(isinstance(i, str) for i in container)
    if scalar and edit.raw is not None and (isinstance(existing, str) or is_tag or strings):
        return edit.raw.strip()
    return copy.deepcopy(edit.value)


def apply_all(document: Mapping[str, Any], edits: list[Edit]) -> dict[str, Any]:
    """A deep copy of ``document`` with every edit applied, in order."""
    result = copy.deepcopy(dict(document))
    for edit in edits:
        apply(result, edit)
    return result


def merge_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after``."""
    patch: dict[str, Any] = {}
    for key in before:
        if key not in after:
            patch[key] = None
    for key, value in after.items():
        old = before.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(old, dict):
            inner = merge_diff(old, value)
            if inner:
                patch[key] = inner
        elif old is _MISSING or old != value or type(old) is not type(value):
            patch[key] = copy.deepcopy(value)
    return patch


def _key(container: dict[str, Any], name: str) -> str:
    """The stored spelling of ``name`` in ``container`` (exact match first, then case-insensitive)."""
    if name in container:
        return name
    for existing in container:
        if existing.lower() == name.lower():
            return existing
    return name


def _child(container: Any, segment: Segment, edit: Edit, *, create: bool) -> Any:
    if isinstance(segment, int):
        if not isinstance(container, list):
            raise InvalidInput(
                f"'{edit.text}': [{segment}] indexes a list, but the property is {_kind(container)}.",
                target=edit.flag,
            )
        if -len(container) <= segment < len(container):
            return container[segment]
        if create:
            raise _out_of_range(edit, segment, container)
        return _MISSING
    if not isinstance(container, dict):
        raise InvalidInput(
            f"'{edit.text}': '{segment}' names a member of an object, but the property is "
            f"{_kind(container)}.",
            target=edit.flag,
        )
    return container.get(_key(container, segment), _MISSING)


def _assign(container: Any, segment: Segment, value: Any, edit: Edit) -> None:
    if isinstance(segment, int):
        if not isinstance(container, list):
            raise InvalidInput(f"'{edit.text}': [{segment}] indexes a list.", target=edit.flag)
        if segment == len(container):
            container.append(value)  # az appends when the index is one past the end
            return
        if not -len(container) <= segment < len(container):
            raise _out_of_range(edit, segment, container)
        container[segment] = value
        return
    if not isinstance(container, dict):
        raise InvalidInput(f"'{edit.text}': '{segment}' names a member of an object.", target=edit.flag)
    container[_key(container, segment)] = value


def _out_of_range(edit: Edit, index: int, items: list[Any]) -> InvalidInput:
    return InvalidInput(
        f"'{edit.text}': index {index} is out of range (the list has {len(items)} items).",
        target=edit.flag,
    )


def _no_such(edit: Edit) -> InvalidInput:
    return InvalidInput(f"'{edit.text}': the resource has no such property.", target="--remove")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"the value {json.dumps(value)}"
