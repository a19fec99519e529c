"""The stored enrollment: which server, which machine, and the machine credential.

Written by ``guestpatch-agent enroll`` into the state folder, read by ``guestpatch-agent run``::

    STATE_DIR/
      credential     the machine credential gpm_…            mode 0600
      ca.pem         the CA that signs the server's certificate (when --ca-file was given)
      agent.json     {"server", "vmId", "resourceId", "enrolledAt", "caFile"}   written last

``agent.json`` is written last, so a half-finished enrollment is not taken for a finished one.
"""

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Optional

from guestpatch_agent.clock import format_time
from guestpatch_agent.errors import NotEnrolled
from guestpatch_agent.state import write_atomically

AGENT_FILE = "agent.json"
CREDENTIAL_FILE = "credential"
CA_FILE = "ca.pem"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Identity:
    server: str
    credential: str
    vm_id: str
    resource_id: str
    ca_file: Optional[str]  # absolute path, or None for the system trust store


def save_identity(
    folder: str, *, server: str, answer: Dict[str, Any], ca_file: Optional[str], now: datetime
) -> Identity:
    """Store what ``enroll`` answered; the CA is copied into the folder so the agent keeps trusting it."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    stored_ca = None
    if ca_file is not None:
        stored_ca = os.path.join(folder, CA_FILE)
        if os.path.realpath(ca_file) != os.path.realpath(stored_ca):
            temporary = stored_ca + ".tmp-{}".format(os.getpid())
            shutil.copyfile(ca_file, temporary)
            os.chmod(temporary, 0o644)
            os.replace(temporary, stored_ca)
    write_secret(os.path.join(folder, CREDENTIAL_FILE), str(answer["credential"]))
    record = {
        "formatVersion": FORMAT_VERSION,
        "server": server,
        "vmId": str(answer.get("vmId", "")),
        "resourceId": str(answer.get("resourceId", "")),
        "enrolledAt": format_time(now),
        "caFile": CA_FILE if stored_ca else None,
    }
    write_atomically(os.path.join(folder, AGENT_FILE), json.dumps(record, indent=1, sort_keys=True) + "\n")
    return Identity(server, str(answer["credential"]), str(record["vmId"]), str(record["resourceId"]), stored_ca)


def load_identity(folder: str) -> Identity:
    """The stored enrollment, or :class:`NotEnrolled` saying what is missing."""
    path = os.path.join(folder, AGENT_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        with open(os.path.join(folder, CREDENTIAL_FILE), encoding="utf-8") as handle:
            credential = handle.read().strip()
    except FileNotFoundError as exc:
        raise NotEnrolled(
            "this machine is not enrolled: no {} in {} (run guestpatch-agent enroll first)".format(
                os.path.basename(exc.filename or path), folder
            )
        ) from exc
    except (OSError, ValueError) as exc:
        raise NotEnrolled("the stored enrollment in {} is unreadable: {}".format(folder, exc)) from exc
    if not isinstance(record, dict) or not isinstance(record.get("server"), str) or not credential:
        raise NotEnrolled("the stored enrollment in {} is malformed: enroll again".format(folder))
    ca = record.get("caFile")
    return Identity(
        server=record["server"],
        credential=credential,
        vm_id=str(record.get("vmId", "")),
        resource_id=str(record.get("resourceId", "")),
        ca_file=os.path.join(folder, ca) if isinstance(ca, str) and ca else None,
    )


def write_secret(path: str, text: str) -> None:
    """Write ``text`` readable by the owner only (0600 from creation on), atomically."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = "{}.tmp-{}".format(path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an existing leftover keeps its mode otherwise
        os.write(descriptor, (text + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
