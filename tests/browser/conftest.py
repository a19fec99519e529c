"""Headless Chromium (Debian's, driven by Playwright) against a real ``guestpatch serve`` over HTTPS.

Chromium comes from the distribution (``/usr/bin/chromium``): when it is missing and the tests run as
root, it is installed with apt-get (as ``scripts/bootstrap.sh test`` does); otherwise the browser tests
skip, saying why (and fail under CI=true). Every browser starts with a new, empty user-data directory
and the flags that keep it off the network (the test machine refuses Chromium's background
connections). It trusts the test server by pinning the server key's SPKI hash
(``--ignore-certificate-errors-spki-list``) rather than ignoring certificate errors in general.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import IN_CI
from tests.server_fixtures import LiveServer
from tests.web.fleet_data import FleetWriter

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
LAPTOP = {"viewport": {"width": 1366, "height": 860}}
PHONE_DEVICE = "Pixel 7"


def _ensure_chromium() -> str | None:
    """None when Chromium is there (installed now if we may); else why the browser tests cannot run."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            check=False, env=env, capture_output=True, text=True,
        )
        if CHROMIUM.exists():
            return None
        return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return f"{CHROMIUM} is missing and the tests are not running as root to install it"


@pytest.fixture(scope="session")
def chromium() -> str:
    reason = _ensure_chromium()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires Chromium: {reason}")
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    """Playwright's sync driver keeps an asyncio loop running in this thread while it lives, which
    breaks later tests that call ``asyncio.run``: so it lives per module, not for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def spki_pin(certificate: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the first certificate in ``certificate``."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


@pytest.fixture
def open_browser(
    chromium: str, playwright_driver: Any, dashboard_server: LiveServer
) -> Iterator[Callable[..., Any]]:
    """``open_browser(phone=False)`` → a new page in a fresh Chromium profile that trusts the server.

    Console errors (a refused stylesheet, a CSP violation) are collected on ``page.console_errors``.
    """
    contexts: list[Any] = []
    profiles: list[tempfile.TemporaryDirectory[str]] = []
    pin = spki_pin(dashboard_server.data_dir / "tls" / "server.pem")

    def open_(*, phone: bool = False) -> Any:
        profile = tempfile.TemporaryDirectory(prefix="gp-chromium-")
        profiles.append(profile)
        options = dict(playwright_driver.devices[PHONE_DEVICE]) if phone else dict(LAPTOP)
        options.pop("default_browser_type", None)
        context = playwright_driver.chromium.launch_persistent_context(
            profile.name, executable_path=chromium, headless=True,
            args=[*CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={pin}"], **options,
        )
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
        page.set_default_timeout(15_000)
        return page

    try:
        yield open_
    finally:
        for context in contexts:
            context.close()
        for profile in profiles:
            profile.cleanup()


# ---------------------------------------------------------------- the fleet the browser looks at

#: name → (tenant, region, patch mode, agent?, Critical/Security found, other found, failed installation?)
FLEET: dict[str, tuple[str, str, str, bool, int | None, int, bool]] = {
    "web-eu-1": ("contoso", "westeurope", "AutomaticByPlatform", True, 0, 3, False),
    "web-eu-2": ("contoso", "westeurope", "AutomaticByPlatform", True, 2, 1, False),
    "web-us-1": ("fabrikam", "eastus", "AutomaticByPlatform", True, 3, 0, False),
    "db-eu-1": ("contoso", "northeurope", "AutomaticByPlatform", True, 1, 2, True),
    "db-us-1": ("fabrikam", "eastus", "ImageDefault", True, 0, 0, False),
    "cache-us-1": ("fabrikam", "westus", "AutomaticByPlatform", True, None, 0, False),
    "batch-eu-1": ("contoso", "northeurope", "ImageDefault", False, None, 0, False),
    "batch-us-1": ("fabrikam", "westus", "AutomaticByPlatform", False, None, 0, False),
}
RESOURCE_GROUP = "rg-demo"


@pytest.fixture(scope="module")
def dashboard_server(live_server: LiveServer) -> LiveServer:
    """The module's ``guestpatch serve`` (HTTPS, SQLite), holding FLEET written through its own API."""
    with httpx.Client(base_url=live_server.url, verify=live_server.verify, timeout=30,
                      headers={"Authorization": f"Bearer {live_server.token}"}) as client:
        writer = FleetWriter(client)
        for name, (tenant, region, mode, agent, critical, other, failed) in FLEET.items():
            machine = writer.vm(name, rg=RESOURCE_GROUP, sub=tenant, location=region, patch_mode=mode)
            if not agent:
                continue
            writer.agent(machine, location=region)
            if critical is not None:
                writer.assess(machine, critical=critical, other=other)
            if failed:
                writer.install(machine, installed=0, failed=1, status="Failed")
    return live_server


@pytest.fixture
def screenshot(artifacts_dir: Path) -> Callable[[Any, str], Path]:
    """Save a full-page screenshot as ``test-artifacts/dashboard-<name>.png``."""

    def shoot(page: Any, name: str) -> Path:
        path = artifacts_dir / f"dashboard-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
