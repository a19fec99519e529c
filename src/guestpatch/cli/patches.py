"""``guestpatch vm assess-patches`` and ``vm install-patches``: on-demand patch operations, as az.

Each command POSTs the ARM action, then waits for the long-running operation as the Azure SDK does
(:func:`~guestpatch.cli.lro.wait_for_result`) with a spinner on stderr when it is a terminal, and prints
the ``VirtualMachineAssessPatchesResult`` / ``VirtualMachineInstallPatchesResult``. The exit status is
0 when the result's status is Succeeded or CompletedWithWarnings, 1 otherwise (the result's status
Failed, or the operation itself failed — e.g. ``VMAgentStatusCommunicationError`` when no agent picked
it up), with the ARM error code on one line. ``--no-wait`` prints the operation's status URL and exits.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from guestpatch.cli.client import vm_path
from guestpatch.cli.common import EXIT_ERROR, Invocation, choice, choice_list, choices, command, require_name
from guestpatch.cli.lro import DEFAULT_TIMEOUT, wait_for_result
from guestpatch.cli.output import Column, OutputFormat, field, progress_line, render
from guestpatch.cli.patch_bodies import (
    ASSESS,
    INSTALL,
    InstallFlags,
    LinuxClassification,
    WindowsClassification,
    install_body,
    judge,
    summary,
    wait_budget,
)
from guestpatch.cli.vm import Name, RebootSetting, ResourceGroup, Toggle, group
from guestpatch.errors import UpstreamError

EXIT_INTERRUPTED = 130

NoWait = Annotated[bool, typer.Option(
    "--no-wait", help="Do not wait: print the operation's status URL (Azure-AsyncOperation) and exit 0.",
)]

AVAILABLE_PATCH_COLUMNS = (
    field("Name", "name"),
    field("Version", "version"),
    field("Classifications", "classifications"),
    field("RebootBehavior", "rebootBehavior"),
    field("PublishedDate", "publishedDate"),
)
INSTALLED_PATCH_COLUMNS = (
    field("Name", "name"),
    field("Version", "version"),
    field("Classifications", "classifications"),
    field("InstallationState", "installationState"),
)


def _masks(flag: str, metavar: str, help: str) -> Any:
    return typer.Option(flag, metavar=metavar, show_default=False, help=help)


@command(group, "assess-patches")
def assess_patches(
    invocation: Invocation, *, resource_group: ResourceGroup, name: Name, no_wait: NoWait = False
) -> None:
    """Assess the patches available on a virtual machine and wait for the result, as az vm assess-patches."""
    _run(invocation, resource_group, name, ASSESS, None, no_wait=no_wait, timeout=DEFAULT_TIMEOUT,
         columns=AVAILABLE_PATCH_COLUMNS, rows="availablePatches")


@command(group, "install-patches", bare_true=("--exclude-kbs-requiring-reboot",))
def install_patches(
    invocation: Invocation,
    *,
    resource_group: ResourceGroup,
    name: Name,
    maximum_duration: Annotated[str, typer.Option(
        "--maximum-duration", metavar="DURATION",
        help="Longest the installation may take, as an ISO 8601 duration: PT2H, PT90M (PT5M to PT4H).",
    )],
    reboot_setting: Annotated[str, typer.Option(
        "--reboot-setting", metavar=choices(RebootSetting), callback=choice(RebootSetting),
        help="Whether to reboot after installing: IfRequired, Never or Always.",
    )],
    classifications_to_include_linux: Annotated[list[str] | None, typer.Option(
        "--classifications-to-include-linux", metavar=choices(LinuxClassification),
        callback=choice_list(LinuxClassification), show_default=False,
        help="Linux: classifications to install (Critical, Security, Other); several may follow one flag.",
    )] = None,
    include_packages: Annotated[list[str] | None, _masks(
        "--include-packages", "MASK",
        "Linux: package name masks to install (packageNameMasksToInclude), e.g. openssl 'libssl*' or "
        "name_version.",
    )] = None,
    exclude_packages: Annotated[list[str] | None, _masks(
        "--exclude-packages", "MASK", "Linux: package name masks never to install (packageNameMasksToExclude).",
    )] = None,
    classifications_to_include_win: Annotated[list[str] | None, typer.Option(
        "--classifications-to-include-win", metavar=choices(WindowsClassification),
        callback=choice_list(WindowsClassification), show_default=False,
        help="Windows: classifications to install; several may follow one flag.",
    )] = None,
    kb_numbers_to_include: Annotated[list[str] | None, _masks(
        "--kb-numbers-to-include", "KB", "Windows: KB numbers to install, e.g. KB5034441.",
    )] = None,
    kb_numbers_to_exclude: Annotated[list[str] | None, _masks(
        "--kb-numbers-to-exclude", "KB", "Windows: KB numbers never to install.",
    )] = None,
    exclude_kbs_requiring_reboot: Annotated[str | None, typer.Option(
        "--exclude-kbs-requiring-reboot", metavar=choices(Toggle), callback=choice(Toggle), show_default=False,
        help="Windows: leave out KBs that may need a reboot. A bare flag means true.",
    )] = None,
    no_wait: NoWait = False,
) -> None:
    """Install patches on a virtual machine and wait for the result, as az vm install-patches."""
    flags = InstallFlags(
        maximum_duration=maximum_duration.strip(),
        reboot_setting=reboot_setting,
        linux_classifications=classifications_to_include_linux or [],
        include_packages=include_packages or [],
        exclude_packages=exclude_packages or [],
        windows_classifications=classifications_to_include_win or [],
        kb_numbers_to_include=kb_numbers_to_include or [],
        kb_numbers_to_exclude=kb_numbers_to_exclude or [],
        exclude_kbs_requiring_reboot=(
            None if exclude_kbs_requiring_reboot is None else exclude_kbs_requiring_reboot == Toggle.true
        ),
    )
    body = install_body(flags)
    _run(invocation, resource_group, name, INSTALL, body, no_wait=no_wait,
         timeout=wait_budget(flags.maximum_duration, DEFAULT_TIMEOUT), columns=INSTALLED_PATCH_COLUMNS,
         rows="patches")


def _run(
    invocation: Invocation,
    resource_group: str,
    name: str,
    kind: str,
    body: dict[str, Any] | None,
    *,
    no_wait: bool,
    timeout: float,
    columns: tuple[Column, ...],
    rows: str,
) -> None:
    resource_group, name = require_name(resource_group, "--resource-group"), require_name(name, "--name")
    client = invocation.client()
    response = client.request("POST", f"{vm_path(invocation.subscription, resource_group, name)}/{kind}", body=body)
    status_url = response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
    if no_wait and status_url:
        if invocation.output is not OutputFormat.none:
            typer.echo(status_url)
        return
    try:
        with progress_line(f"{kind} on {name}") as on_status:
            result = wait_for_result(client, response, timeout=timeout, on_status=on_status)
    except KeyboardInterrupt:
        typer.echo(f"error: stopped waiting; the operation goes on on the server (status: {status_url}).", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if not isinstance(result, dict):
        raise UpstreamError(f"the server sent no {kind} result.", status=502, code="BadResponse")
    _show(invocation, result, kind, columns, rows)
    verdict = judge(result, kind)
    if verdict.line:
        typer.echo(verdict.line, err=True)
    if not verdict.ok:
        raise typer.Exit(EXIT_ERROR)


def _show(invocation: Invocation, result: dict[str, Any], kind: str, columns: tuple[Column, ...], rows: str) -> None:
    if invocation.output is OutputFormat.table:
        typer.echo(summary(result, kind))
        patches = result.get(rows)
        if patches:
            render(patches, OutputFormat.table, columns)
        return
    invocation.show(result, columns)
