"""az's argument spelling, and the usage errors caught before any request (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch.cli.common import expand_az_arguments
from tests.cli.conftest import run_cli

VARIADIC = frozenset({"--set", "--tags"})
BARE = frozenset({"--enable-agent"})


def expand(*args: str) -> list[str]:
    return expand_az_arguments(list(args), variadic=VARIADIC, bare_true=BARE)


def test_several_values_after_one_multi_value_flag_repeat_the_flag() -> None:
    """`--set a=1 b=2 -n x` → `--set a=1 --set b=2 -n x`."""
    assert expand("--set", "a=1", "b=2", "-n", "x") == ["--set", "a=1", "--set", "b=2", "-n", "x"]


def test_inline_value_of_a_multi_value_flag_keeps_collecting() -> None:
    """`--set=a=1 b=2` → `--set=a=1 --set b=2`."""
    assert expand("--set=a=1", "b=2") == ["--set=a=1", "--set", "b=2"]


def test_values_after_an_ordinary_flag_are_left_alone() -> None:
    """Only multi-value flags collect: `-n x y` stays as it is (Click reports the stray y)."""
    assert expand("-n", "x", "y") == ["-n", "x", "y"]


def test_bare_boolean_flag_means_true() -> None:
    """`--enable-agent` followed by another flag or nothing gets the value true."""
    assert expand("--enable-agent", "-n", "x") == ["--enable-agent", "true", "-n", "x"]
    assert expand("-n", "x", "--enable-agent") == ["-n", "x", "--enable-agent", "true"]


def test_boolean_flag_with_a_value_keeps_it() -> None:
    """`--enable-agent false` and `--enable-agent=false` are passed on unchanged."""
    assert expand("--enable-agent", "false") == ["--enable-agent", "false"]
    assert expand("--enable-agent=false") == ["--enable-agent=false"]


def test_double_dash_ends_the_rewriting() -> None:
    """Everything after `--` is passed on verbatim."""
    assert expand("--set", "a=1", "--", "b=2") == ["--set", "a=1", "--", "b=2"]


def test_unknown_flag_is_a_usage_error() -> None:
    """An unknown flag: exit 2 and Click's message naming it."""
    outcome = run_cli(None, "vm", "list", "--bogus")
    assert outcome.exit_code == 2
    assert "No such option: --bogus" in outcome.usage_error


def test_missing_required_flag_is_a_usage_error() -> None:
    """`vm show` without --name: exit 2 naming --name."""
    outcome = run_cli(None, "vm", "show", "-g", "rg")
    assert outcome.exit_code == 2
    assert "--name" in outcome.usage_error


def test_enum_values_are_checked_and_listed() -> None:
    """An unknown --patch-mode is refused with the allowed values."""
    outcome = run_cli(None, "vm", "update", "-g", "rg", "-n", "x", "--patch-mode", "Sometimes")
    assert outcome.exit_code == 2
    assert "'Sometimes' is not one of ImageDefault, AutomaticByPlatform, AutomaticByOS, Manual" in outcome.usage_error


def test_unknown_output_format_is_a_usage_error() -> None:
    """`-o yaml` is not offered."""
    outcome = run_cli(None, "region", "list", "-o", "yaml")
    assert outcome.exit_code == 2
    assert "--output" in outcome.usage_error


def test_unknown_image_alias_is_a_usage_error_listing_the_aliases() -> None:
    """`--image Ubuntu9` is neither an alias nor a URN: exit 2, the known aliases named."""
    outcome = run_cli(None, "vm", "create", "-g", "rg", "-n", "x", "--image", "Ubuntu9", "-l", "westeurope")
    assert outcome.exit_code == 2
    assert "Ubuntu2204" in outcome.usage_error
    assert "--image" in outcome.usage_error


@pytest.mark.parametrize("expression", ["a..b=1", "=1", "tags.x"])
def test_bad_set_expression_is_a_usage_error(expression: str) -> None:
    """A malformed --set is refused before the VM is read."""
    outcome = run_cli(None, "vm", "update", "-g", "rg", "-n", "x", "--set", expression)
    assert outcome.exit_code == 2
    assert "--set" in outcome.usage_error


def test_update_without_any_change_is_a_usage_error() -> None:
    """`vm update` with nothing to change says which flags change something."""
    outcome = run_cli(None, "vm", "update", "-g", "rg", "-n", "x")
    assert outcome.exit_code == 2
    assert "nothing to update" in outcome.usage_error


def test_empty_name_is_a_usage_error() -> None:
    """`-n ""` would address the collection, not a VM."""
    outcome = run_cli(None, "vm", "show", "-g", "rg", "-n", " ")
    assert outcome.exit_code == 2
    assert "--name" in outcome.usage_error


def test_delete_without_yes_and_without_a_terminal_is_a_usage_error() -> None:
    """No terminal to confirm on: --yes is required."""
    outcome = run_cli(None, "vm", "delete", "-g", "rg", "-n", "x")
    assert outcome.exit_code == 2
    assert "--yes" in outcome.usage_error


def test_missing_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    """--ca-file must name an existing file."""
    outcome = run_cli(None, "vm", "list", "--ca-file", str(tmp_path / "nope.pem"))
    assert outcome.exit_code == 2
    assert "--ca-file" in outcome.usage_error


def test_every_command_has_help() -> None:
    """`--help` works for every group and command and exits 0."""
    for args in (["vm"], ["region"], ["vm", "create"], ["vm", "update"], ["vm", "show"], ["vm", "list"],
                 ["vm", "delete"], ["vm", "get-instance-view"], ["region", "list"], ["region", "add"]):
        outcome = run_cli(None, *args, "--help")
        assert outcome.exit_code == 0, args
        assert "Usage:" in outcome.stdout
