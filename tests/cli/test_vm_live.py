"""`guestpatch vm ...` against a real `guestpatch serve` over HTTPS."""

from __future__ import annotations

from pathlib import Path

from guestpatch.catalogs import load_image_aliases
from tests.cli.conftest import Cli, run_cli, run_command
from tests.server_fixtures import LiveServer

PATCH_MODE = "osProfile.linuxConfiguration.patchSettings.patchMode"


def linux_settings(vm: dict) -> dict:
    return vm["properties"]["osProfile"]["linuxConfiguration"]


def test_create_linux_vm_from_alias_with_automatic_by_platform_reads_back(live_server: LiveServer) -> None:
    """The real `guestpatch` program creates a VM from an alias; `vm show` returns the image and patch mode."""
    created = run_command(
        live_server, "vm", "create", "-g", "rg-create", "-n", "web1", "--image", "Ubuntu2204",
        "--location", "westeurope", "--patch-mode", "AutomaticByPlatform", "--reboot-setting", "IfRequired",
    )
    assert created.exit_code == 0, created.stderr
    shown = run_command(live_server, "vm", "show", "-g", "rg-create", "-n", "web1").json()
    alias = load_image_aliases()["Ubuntu2204"]
    assert shown["properties"]["storageProfile"]["imageReference"] == {
        "publisher": alias.publisher, "offer": alias.offer, "sku": alias.sku, "version": alias.version,
    }
    patch_settings = linux_settings(shown)["patchSettings"]
    assert patch_settings["patchMode"] == "AutomaticByPlatform"
    assert patch_settings["automaticByPlatformSettings"]["rebootSetting"] == "IfRequired"
    assert shown["properties"]["osProfile"]["computerName"] == "web1"


def test_create_windows_vm_with_bare_flags_as_in_azure_docs(cli: Cli) -> None:
    """`--enable-agent --enable-auto-update` without values mean true, as in az's documented example."""
    created = cli(
        "vm", "create", "--resource-group", "rg-win", "--name", "win1", "--image", "Win2022Datacenter",
        "--location", "eastus", "--enable-agent", "--enable-auto-update", "--patch-mode", "AutomaticByPlatform",
    ).json()
    windows = created["properties"]["osProfile"]["windowsConfiguration"]
    assert windows["enableAutomaticUpdates"] is True
    assert windows["provisionVMAgent"] is True
    assert windows["patchSettings"]["patchMode"] == "AutomaticByPlatform"
    assert "linuxConfiguration" not in created["properties"]["osProfile"]


def test_update_patch_mode_with_set(cli: Cli) -> None:
    """`vm update --set <path>=<value>` changes the nested property and leaves the rest as it was."""
    cli("vm", "create", "-g", "rg-set", "-n", "vm1", "--image", "Debian12", "-l", "northeurope",
        "--patch-mode", "AutomaticByPlatform", "--tags", "team=web").json()
    updated = cli("vm", "update", "-g", "rg-set", "-n", "vm1", "--set", f"{PATCH_MODE}=ImageDefault").json()
    assert linux_settings(updated)["patchSettings"]["patchMode"] == "ImageDefault"
    shown = cli("vm", "show", "-g", "rg-set", "-n", "vm1").json()
    assert linux_settings(shown)["patchSettings"]["patchMode"] == "ImageDefault"
    assert shown["tags"] == {"team": "web"}


def test_update_set_and_remove_top_level_tags(cli: Cli) -> None:
    """Paths starting with a top-level member (tags.x) address it, not properties; --remove deletes."""
    cli("vm", "create", "-g", "rg-tags", "-n", "vm1", "--image", "Ubuntu2404", "-l", "westus",
        "--tags", "a=1", "b=2").json()
    updated = cli("vm", "update", "-g", "rg-tags", "-n", "vm1", "--set", "tags.c=three", "--remove", "tags.a").json()
    assert updated["tags"] == {"b": "2", "c": "three"}
    assert "tags" not in updated["properties"]


def test_update_patch_mode_flag_targets_the_windows_configuration(cli: Cli) -> None:
    """`vm update --patch-mode` on a Windows VM sets windowsConfiguration, the VM's own OS configuration."""
    cli("vm", "create", "-g", "rg-winup", "-n", "win1", "--image", "Win2019Datacenter", "-l", "eastus",
        "--enable-auto-update", "true", "--patch-mode", "AutomaticByOS").json()
    updated = cli("vm", "update", "-g", "rg-winup", "-n", "win1", "--patch-mode", "automaticbyplatform").json()
    assert updated["properties"]["osProfile"]["windowsConfiguration"]["patchSettings"]["patchMode"] == (
        "AutomaticByPlatform"
    )


def test_list_follows_next_link_over_every_page(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With 2 VMs per page, `vm list` still returns all 5 VMs of the group (and all 6 of the subscription)."""
    server = start_server(env={"GUESTPATCH_PAGE_SIZE": "2"})
    for i in range(5):
        assert run_cli(server, "vm", "create", "-g", "rg-page", "-n", f"vm{i}", "--image", "Ubuntu2204",
                       "-l", "westeurope", "-o", "none").exit_code == 0
    assert run_cli(server, "vm", "create", "-g", "rg-other", "-n", "solo", "--image", "Ubuntu2204",
                   "-l", "westeurope", "-o", "none").exit_code == 0
    with server.client() as http:
        first = http.get(
            "/subscriptions/default/resourceGroups/rg-page/providers/Microsoft.Compute/virtualMachines",
            params={"api-version": "2026-04-01"},
        ).json()
    assert len(first["value"]) == 2
    assert first.get("nextLink")
    in_group = run_cli(server, "vm", "list", "-g", "rg-page").json()
    assert sorted(vm["name"] for vm in in_group) == [f"vm{i}" for i in range(5)]
    everywhere = run_cli(server, "vm", "list").json()
    assert len(everywhere) == 6


def test_delete_twice_succeeds_and_the_vm_is_gone(cli: Cli) -> None:
    """Deleting a VM, then deleting it again, both exit 0 (as az); `vm show` then exits 3 (not found)."""
    cli("vm", "create", "-g", "rg-del", "-n", "gone", "--image", "Ubuntu2204", "-l", "westeurope").json()
    first = cli("vm", "delete", "-g", "rg-del", "-n", "gone", "--yes")
    second = cli("vm", "delete", "-g", "rg-del", "-n", "gone", "--yes")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert (first.stdout, second.stdout) == ("", "")
    shown = cli("vm", "show", "-g", "rg-del", "-n", "gone")
    assert shown.exit_code == 3
    assert shown.error_lines == [shown.error_lines[0]]
    assert shown.error_lines[0].startswith("error: (ResourceNotFound)")


def test_arm_rule_violation_prints_one_line_with_the_code(live_server: LiveServer) -> None:
    """A Windows patch mode on a Linux image: the server's ARM error, one line, non-zero exit, nothing created."""
    outcome = run_command(
        live_server, "vm", "create", "-g", "rg-rule", "-n", "bad", "--image", "Ubuntu2204", "-l", "westeurope",
        "--patch-mode", "AutomaticByOS",
    )
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert len(outcome.error_lines) == 1
    assert outcome.error_lines[0].startswith("error: (InvalidParameter) ")
    assert "AutomaticByOS" in outcome.error_lines[0]
    assert run_cli(live_server, "vm", "show", "-g", "rg-rule", "-n", "bad").exit_code == 3


def test_windows_only_flag_on_a_linux_image_is_a_usage_error(cli: Cli) -> None:
    """--enable-auto-update with a Linux image is refused before any request: exit 2, no VM."""
    outcome = cli("vm", "create", "-g", "rg-usage", "-n", "lin", "--image", "Ubuntu2204", "-l", "westeurope",
                  "--enable-auto-update", "false")
    assert outcome.exit_code == 2
    assert "--enable-auto-update" in outcome.usage_error
    assert "Windows" in outcome.usage_error
    assert cli("vm", "show", "-g", "rg-usage", "-n", "lin").exit_code == 3


def test_location_defaults_to_the_resource_group_machines(cli: Cli) -> None:
    """Without --location, a VM takes the location of the machines already in its resource group."""
    cli("vm", "create", "-g", "rg-loc", "-n", "first", "--image", "Ubuntu2204", "-l", "japaneast").json()
    second = cli("vm", "create", "-g", "rg-loc", "-n", "second", "--image", "Ubuntu2204").json()
    assert second["location"] == "japaneast"


def test_location_is_required_in_an_empty_resource_group(cli: Cli) -> None:
    """Without --location and without machines in the group there is nothing to default to: usage error."""
    outcome = cli("vm", "create", "-g", "rg-empty", "-n", "vm1", "--image", "Ubuntu2204")
    assert outcome.exit_code == 2
    assert "--location" in outcome.usage_error


def test_show_details_adds_power_state_and_instance_view(cli: Cli) -> None:
    """`vm show -d` returns the instance view and az's top-level powerState."""
    cli("vm", "create", "-g", "rg-d", "-n", "vm1", "--image", "Ubuntu2204", "-l", "westeurope").json()
    detailed = cli("vm", "show", "-g", "rg-d", "-n", "vm1", "-d").json()
    statuses = detailed["properties"]["instanceView"]["statuses"]
    power = next(s for s in statuses if s["code"].startswith("PowerState/"))
    assert detailed["powerState"] == power["displayStatus"]
    plain = cli("vm", "show", "-g", "rg-d", "-n", "vm1").json()
    assert "powerState" not in plain
    assert "instanceView" not in plain["properties"]


def test_get_instance_view_returns_the_patch_status(cli: Cli) -> None:
    """`vm get-instance-view` shows the VM with instanceView.patchStatus, as az does."""
    cli("vm", "create", "-g", "rg-iv", "-n", "vm1", "--image", "Ubuntu2204", "-l", "westeurope",
        "--patch-mode", "AutomaticByPlatform").json()
    view = cli("vm", "get-instance-view", "-g", "rg-iv", "-n", "vm1").json()["properties"]["instanceView"]
    assert view["patchStatus"]["availablePatchSummary"]["status"] == "Unknown"
    assert "lastPatchInstallationSummary" in view["patchStatus"]


def test_table_output_renders_one_row_per_vm(cli: Cli) -> None:
    """`vm list -o table` prints a header and one row per VM with its patch mode."""
    cli("vm", "create", "-g", "rg-table", "-n", "alpha", "--image", "Ubuntu2204", "-l", "westeurope",
        "--patch-mode", "AutomaticByPlatform").json()
    cli("vm", "create", "-g", "rg-table", "-n", "beta", "--image", "Debian12", "-l", "westeurope").json()
    outcome = cli("vm", "list", "-g", "rg-table", "-o", "table")
    assert outcome.exit_code == 0
    lines = outcome.stdout.splitlines()
    assert lines[0].split() == [
        "Name", "ResourceGroup", "Location", "Zones", "OsType", "PatchMode", "AssessmentMode", "ProvisioningState",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["alpha"][1:3] == ["rg-table", "westeurope"]
    assert "AutomaticByPlatform" in rows["alpha"]
    assert "ImageDefault" in rows["beta"]


def test_instance_view_table_output_renders(cli: Cli) -> None:
    """`vm get-instance-view -o table` shows the agent state and the assessment status."""
    cli("vm", "create", "-g", "rg-ivt", "-n", "vm1", "--image", "Ubuntu2204", "-l", "westeurope").json()
    outcome = cli("vm", "get-instance-view", "-g", "rg-ivt", "-n", "vm1", "-o", "table")
    header, row = outcome.stdout.splitlines()[:2]
    assert header.split()[:3] == ["Name", "PowerState", "VmAgent"]
    assert row.startswith("vm1")
    assert "Not Ready" in row
    assert "Unknown" in row


def test_azure_docs_windows_update_example_works_as_written(cli: Cli) -> None:
    """The az example `--set ...enableAutomaticUpdates=true ...patchMode=AutomaticByPlatform` switches the mode."""
    cli("vm", "create", "-g", "rg-azdoc", "-n", "myVM", "--image", "Win2019Datacenter", "-l", "eastus",
        "--enable-auto-update").json()
    updated = cli(
        "vm", "update", "--resource-group", "rg-azdoc", "--name", "myVM", "--set",
        "osProfile.windowsConfiguration.enableAutomaticUpdates=true",
        "osProfile.windowsConfiguration.patchSettings.patchMode=AutomaticByPlatform",
    ).json()
    windows = updated["properties"]["osProfile"]["windowsConfiguration"]
    assert windows["patchSettings"]["patchMode"] == "AutomaticByPlatform"
    assert windows["enableAutomaticUpdates"] is True


def test_create_again_with_the_same_flags_succeeds(cli: Cli) -> None:
    """`vm create` is a PUT: repeating it is harmless and keeps the VM's identity."""
    args = ("vm", "create", "-g", "rg-again", "-n", "vm1", "--image", "Ubuntu2204", "-l", "westeurope")
    first = cli(*args).json()
    second = cli(*args).json()
    assert second["properties"]["vmId"] == first["properties"]["vmId"]


def test_create_over_a_vm_with_another_image_is_refused_by_the_server(cli: Cli) -> None:
    """Re-creating with a different image: the server's 409 PropertyChangeNotAllowed, on one line."""
    cli("vm", "create", "-g", "rg-img", "-n", "vm1", "--image", "Ubuntu2204", "-l", "westeurope").json()
    outcome = cli("vm", "create", "-g", "rg-img", "-n", "vm1", "--image", "Debian12", "-l", "westeurope")
    assert outcome.exit_code == 1
    assert outcome.error_lines == [outcome.error_lines[0]]
    assert outcome.error_lines[0].startswith("error: (PropertyChangeNotAllowed) ")


def test_output_none_prints_nothing(cli: Cli) -> None:
    """`-o none` succeeds silently (the VM exists afterwards)."""
    outcome = cli("vm", "create", "-g", "rg-none", "-n", "quiet", "--image", "Ubuntu2204", "-l", "westeurope",
                  "-o", "none")
    assert (outcome.exit_code, outcome.stdout) == (0, "")
    assert cli("vm", "show", "-g", "rg-none", "-n", "quiet").json()["name"] == "quiet"


def test_subscription_flag_scopes_the_vms(cli: Cli) -> None:
    """A VM created under --subscription tenant-a is listed there and not under the default tenant."""
    cli("vm", "create", "-g", "rg-sub", "-n", "tenantvm", "--image", "Ubuntu2204", "-l", "westeurope",
        "--subscription", "tenant-a").json()
    assert [vm["name"] for vm in cli("vm", "list", "-g", "rg-sub", "--subscription", "tenant-a").json()] == ["tenantvm"]
    assert cli("vm", "list", "-g", "rg-sub").json() == []
    by_env = cli("vm", "list", "-g", "rg-sub", env={"GUESTPATCH_SUBSCRIPTION": "tenant-a"}).json()
    assert [vm["name"] for vm in by_env] == ["tenantvm"]


def test_availability_set_by_name_spreads_update_domains(cli: Cli) -> None:
    """`--availability-set as1` (a name) puts both VMs in one set; the server gives them different domains."""
    domains = []
    for name in ("as-vm1", "as-vm2"):
        created = cli("vm", "create", "-g", "rg-as", "-n", name, "--image", "Ubuntu2204", "-l", "westeurope",
                      "--availability-set", "as1").json()
        assert created["properties"]["availabilitySet"]["id"].lower().endswith(
            "/resourcegroups/rg-as/providers/microsoft.compute/availabilitysets/as1"
        )
        view = cli("vm", "get-instance-view", "-g", "rg-as", "-n", name).json()["properties"]["instanceView"]
        domains.append(view["platformUpdateDomain"])
    assert len(set(domains)) == 2
