"""``guestpatch enroll-token create``: a token with which machines' agents enroll into a resource group.

The token is printed alone on the last line, so ``TOKEN=$(guestpatch enroll-token create -g rg | tail -n1)``
works; ``--output json`` prints the server's whole answer instead. The server keeps only the token's hash:
this is the one time it is shown. See ``docs/agent-protocol.md`` (Credentials, Enroll).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from guestpatch.cli.common import Invocation, command, require_name
from guestpatch.cli.output import field
from guestpatch.core.durations import format_duration, parse_duration
from guestpatch.errors import InvalidInput, UpstreamError

group = typer.Typer(
    name="enroll-token",
    help="Create enrollment tokens, with which guestpatch-agent enrolls machines into a resource group.",
    no_args_is_help=True,
)

TOKENS_PATH = "/v1/enrollmentTokens"
_SHORT = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.IGNORECASE)
_UNITS = ("weeks", "days", "hours", "minutes", "seconds")

TOKEN_COLUMNS = (
    field("Token", "token"),
    field("Subscription", "subscription"),
    field("ResourceGroup", "resourceGroup"),
    field("Uses", "uses"),
    field("ExpiresAt", "expiresAt"),
)


def parse_expires(text: str) -> str:
    """``30m``, ``1h``, ``2d``, ``1h30m``, ``1w`` or an ISO 8601 duration → the canonical ISO 8601 form."""
    value = text.strip()
    short = _SHORT.fullmatch(value)
    if value and short is not None:
        amounts = {unit: int(n) for unit, n in zip(_UNITS, short.groups(), strict=True) if n is not None}
        return format_duration(timedelta(**amounts))
    if value[:1] in {"P", "p"}:
        return format_duration(parse_duration(value, target="--expires"))
    raise InvalidInput(
        f"'{text}' is not a duration: write 30m, 1h, 2d (or 1h30m, 1w), or an ISO 8601 duration such as PT1H.",
        target="--expires",
    )


@command(group, "create", plain_output="a summary, then the token alone on the last line")
def create(
    invocation: Invocation,
    *,
    resource_group: Annotated[str, typer.Option(
        "--resource-group", "-g", metavar="RG", help="Resource group the enrolled machines join (or are found in).",
    )],
    expires: Annotated[str, typer.Option(
        "--expires", metavar="DURATION",
        help="How long the token can be used: 30m, 1h, 2d or an ISO 8601 duration (PT1M to P365D).",
    )] = "1h",
    uses: Annotated[int, typer.Option(
        "--uses", metavar="N", min=1, help="How many machines may enroll with the token.",
    )] = 1,
) -> None:
    """Create an enrollment token for machines of a resource group; the token is printed alone on the last line."""
    body = {
        "subscription": invocation.subscription,
        "resourceGroup": require_name(resource_group, "--resource-group"),
        "expiresIn": parse_expires(expires),
        "uses": uses,
    }
    client = invocation.client()
    answer = client.json("POST", TOKENS_PATH, body=body, arm=False)
    if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
        raise UpstreamError("the server answered without a token.", status=502, code="BadResponse")
    if invocation.output is not None:
        invocation.show(answer, TOKEN_COLUMNS)
        return
    count = answer.get("uses", uses)
    typer.echo(
        f"Enrollment token for resource group '{answer.get('resourceGroup')}' of subscription "
        f"'{answer.get('subscription')}': {count} use{'s' if count != 1 else ''}, valid until "
        f"{answer.get('expiresAt')}. It is shown only now."
    )
    ca = client.endpoint.verify
    ca_hint = f" --ca-file <a copy of {ca}>" if isinstance(ca, str) else ""
    server = client.endpoint.server
    typer.echo(f"Enroll a machine with: guestpatch-agent enroll --server {server}{ca_hint} --token <the line below>")
    typer.echo(answer["token"])
