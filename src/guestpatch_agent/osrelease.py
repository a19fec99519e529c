"""Read ``/etc/os-release`` (under the root being served) into a :class:`~guestpatch_agent.model.Distro`.

The parser is pure (:func:`parse_os_release`); :func:`read_distro` does the file reading, following
links inside the root (``/etc/os-release`` is usually a link to ``../usr/lib/os-release``).
"""

import shlex
from typing import Dict

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr.base import Root

CANDIDATES = ("etc/os-release", "usr/lib/os-release")


def parse_os_release(text: str) -> Dict[str, str]:
    """``KEY=value`` lines with shell quoting, as os-release(5) defines them; comments and junk skipped."""
    fields: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if not key.replace("_", "").isalnum():
            continue
        try:
            words = shlex.split(value, comments=False, posix=True)
        except ValueError:  # unbalanced quote: keep the raw text rather than lose the line
            words = [value.strip().strip("'\"")]
        fields[key] = " ".join(words)
    return fields


def distro_from_fields(fields: Dict[str, str]) -> Distro:
    """The :class:`Distro` of parsed os-release fields; ``ID`` defaults to ``linux`` as os-release(5) says."""
    return Distro(
        id=fields.get("ID", "linux").lower(),
        version_id=fields.get("VERSION_ID", ""),
        id_like=tuple(w.lower() for w in fields.get("ID_LIKE", "").split()),
        pretty_name=fields.get("PRETTY_NAME", fields.get("NAME", "")),
    )


def read_distro(root: Root) -> Distro:
    """The distribution installed under ``root``; :class:`PackageManagerError` if it has no os-release."""
    for candidate in CANDIDATES:
        path = root.resolve(candidate)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return distro_from_fields(parse_os_release(handle.read()))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PackageManagerError("cannot read {}: {}".format(path, exc)) from exc
    raise PackageManagerError(
        "no os-release under {}: looked for {}".format(root.path, " and ".join("/" + c for c in CANDIDATES))
    )
