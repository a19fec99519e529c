"""``guestpatch-agent enroll``: bind this machine to a VM resource and store the machine credential.

::

    guestpatch-agent enroll --server https://HOST:PORT --token gpe_… [--ca-file CA.pem]
                            [--name N --location L --zone Z --availability-set A --time-zone TZ]
                            [--state-dir DIR] [--root DIR]

Sends ``POST /agent/v1/enroll`` with the OS (os-release under the root), the kernel and the
architecture; stores the answer (``identity.py``) and prints it as JSON. Enrolling again replaces
the stored credential (the server revokes the VM's earlier one) and forgets the previous binding's
report records and applied configuration. Every failure is one line on stderr: bad flags exit 2,
an unreachable server or a refused token exit 1.
"""

import json
import os
import shutil
from typing import Any, Dict, TextIO

from guestpatch_agent import __version__, outbox, patchmode
from guestpatch_agent.clock import SystemClock
from guestpatch_agent.errors import AgentError, RequestRejected, ServerError, UsageError
from guestpatch_agent.identity import save_identity
from guestpatch_agent.machine import host_name, os_facts
from guestpatch_agent.osrelease import read_distro
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.protocol import ControlPlane, parse_server, tls_context

OPTIONAL_FIELDS = (("name", "name"), ("location", "location"), ("zone", "zone"),
                   ("availability_set", "availabilitySet"), ("time_zone", "timeZone"))  # fmt: skip


def check_token(token: str) -> str:
    value = token.strip()
    if not value or len(value) > 512 or not all(33 <= ord(c) < 127 for c in value):
        raise UsageError("--token must be the enrollment token printed by guestpatch enroll-token create")
    return value


def enrollment_body(args: Any, root: Root) -> Dict[str, Any]:
    """The enroll request: the flags given, the agent's version, the machine's OS and host name."""
    body: Dict[str, Any] = {}
    for flag, key in OPTIONAL_FIELDS:
        value = getattr(args, flag, None)
        if value is not None:
            if not value.strip():
                raise UsageError("--{} must not be empty".format(flag.replace("_", "-")))
            body[key] = value.strip()
    body["agentVersion"] = __version__
    body["os"] = os_facts(read_distro(root))
    body["hostname"] = host_name(root)
    return body


def cmd_enroll(args: Any, out: TextIO) -> int:
    if not os.path.isdir(args.root):
        raise UsageError("--root {}: no such directory".format(args.root))
    root = Root(args.root)
    server = parse_server(args.server)
    token = check_token(args.token)
    if args.ca_file is not None and not os.path.isfile(args.ca_file):
        raise UsageError("--ca-file {}: no such file".format(args.ca_file))
    context = tls_context(args.ca_file)
    body = enrollment_body(args, root)
    state_dir = args.state_dir or root.join("var/lib/guestpatch-agent")
    plane = ControlPlane(server, context=context)
    try:
        answer = plane.enroll(token, body)
    except RequestRejected as exc:
        if exc.status == 401:
            raise AgentError("the server refused the enrollment token (unknown, expired or used up)") from exc
        raise AgentError("the server refused the enrollment: {}".format(exc)) from exc
    except ServerError as exc:
        raise AgentError("cannot enroll with {}: {}".format(server.url, exc)) from exc
    forget_binding(state_dir)
    identity = save_identity(state_dir, server=server.url, answer=answer, ca_file=args.ca_file, now=SystemClock().now())
    summary = {
        "vmId": identity.vm_id,
        "resourceId": identity.resource_id,
        "created": bool(answer.get("created")),
        "server": identity.server,
        "stateDir": state_dir,
    }
    out.write(json.dumps(summary, indent=2) + "\n")
    out.flush()
    return 0


def forget_binding(state_dir: str) -> None:
    """Drop what belonged to the previous enrollment: report records and the applied configuration."""
    shutil.rmtree(os.path.join(state_dir, outbox.FOLDER), ignore_errors=True)
    try:
        os.unlink(os.path.join(state_dir, patchmode.FILE))
    except FileNotFoundError:
        pass
