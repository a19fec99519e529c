"""Reading JSON documents: typed access with ARM errors, and small nested-object helpers.

:class:`Reader` gives typed access to one object of a request body and raises the rules of
:mod:`guestpatch.core.rules` (``wrong-type``, ``misspelled-member``, ``empty-value``,
``enum-value``) with the JSON path in the message and Azure's form of it as the target.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from guestpatch.core import rules
from guestpatch.core.rules import json_kind

_PROFILES = ("properties.osProfile.", "properties.storageProfile.", "properties.hardwareProfile.", "properties.")


class Reader:
    """Typed access to one object of the document; ``given`` is False for an absent/null object."""

    def __init__(self, data: Mapping[str, object] | None, path: str) -> None:
        self.data: Mapping[str, object] = data if data is not None else {}
        self.given = data is not None
        self.path = path

    def _path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def value(self, key: str) -> object:
        """The raw value of ``key`` (None when absent); a member spelled in another case is refused."""
        for other in self.data:
            if isinstance(other, str) and other != key and other.lower() == key.lower():
                raise rules.MISSPELLED_MEMBER.error(
                    given=other, parent=self.path or "(body)", expected=key, path=azure_target(self._path(other))
                )
        return self.data.get(key)

    def object(self, key: str) -> Reader:
        value = self.value(key)
        if value is not None and not isinstance(value, Mapping):
            raise wrong_type(self._path(key), "an object", value)
        return Reader(value, self._path(key))

    def string(self, key: str) -> str | None:
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise wrong_type(self._path(key), "a string", value)
        if not value.strip():
            raise rules.EMPTY_VALUE.error(where=self._path(key), path=azure_target(self._path(key)))
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.value(key)
        if value is not None and not isinstance(value, bool):
            raise wrong_type(self._path(key), "true or false", value)
        return value

    def enum(
        self, key: str, allowed: Sequence[str], *, foreign: Sequence[str] = (), foreign_label: str = ""
    ) -> str | None:
        """The canonical spelling of an enum value given in any case; ``foreign`` values (those of
        another OS, say) get ``'<value>' is a <foreign_label>.`` added to the error."""
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise wrong_type(self._path(key), f"one of the strings {', '.join(allowed)}", value)
        for choice in allowed:
            if value.lower() == choice.lower():
                return choice
        hint = f" '{value}' is a {foreign_label}." if value.lower() in {f.lower() for f in foreign} else ""
        raise rules.ENUM_VALUE.error(
            value=value, path=azure_target(self._path(key)), allowed=", ".join(allowed), hint=hint
        )


def azure_target(path: str) -> str:
    """Azure's way of naming a property in errors: the path below ``properties`` with the profile
    level dropped (``properties.osProfile.linuxConfiguration.x`` → ``linuxConfiguration.x``)."""
    for prefix in _PROFILES:
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def wrong_type(path: str, expected: str, value: object) -> Exception:
    """The ``wrong-type`` error for ``value`` found at ``path`` where ``expected`` belongs."""
    return rules.WRONG_TYPE.error(where=path, path=azure_target(path), expected=expected, actual=json_kind(value))


def at(data: object, *path: str) -> object:
    """The value at ``path`` in nested objects, or None where the path is absent or not an object."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def child(parent: dict[str, object], key: str) -> dict[str, object]:
    """``parent[key]`` as an object, replacing an absent, null or non-object value with ``{}``."""
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    fresh: dict[str, object] = {}
    parent[key] = fresh
    return fresh


def carry(doc: dict[str, object], old: Mapping[str, object], path: tuple[str, ...]) -> None:
    """Copy the value at ``path`` from ``old`` into ``doc`` when ``doc`` has none there."""
    value = at(old, *path)
    if value is None or at(doc, *path) is not None:
        return
    node = doc
    for key in path[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            return  # a wrongly typed body: parse_vm reports it
        node = child
    node[path[-1]] = copy.deepcopy(value)
