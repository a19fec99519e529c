"""The physical reference: nginx serving a static file (plain and TLS) from a config in a temp dir."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._procs import free_port, stop

CONFIG = """\
{user}
worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {dir}/www;
    }}
}}
"""


@dataclass(frozen=True)
class Nginx:
    plain_url: str
    tls_url: str
    etag: str


@contextmanager
def nginx(directory: Path, *, cert: Path, key: Path, body: bytes) -> Iterator[Nginx]:
    """nginx on two free ports (plain, TLS) serving ``body`` as ``/goalstate.json``."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
    (directory / "www").mkdir(parents=True, exist_ok=True)
    (directory / "www" / "goalstate.json").write_bytes(body)
    port, tls_port = free_port(), free_port()
    # as root, workers would switch to 'nobody', who cannot enter a private temp dir
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        CONFIG.format(user=user, dir=directory, port=port, tls_port=tls_port, cert=cert, key=key)
    )
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(directory / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=(directory / "stderr.log").open("w"),
    )
    try:
        plain = f"http://127.0.0.1:{port}/goalstate.json"
        etag = _wait_for_etag(plain, process, directory)
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # the reference only needs the TLS cost, not trust
        tls = f"https://127.0.0.1:{tls_port}/goalstate.json"
        if httpx.get(tls, headers={"If-None-Match": etag}, verify=insecure).status_code != 304:
            raise RuntimeError("nginx over TLS does not answer 304 to its own ETag")
        yield Nginx(plain_url=plain, tls_url=tls, etag=etag)
    finally:
        stop(process)


def _wait_for_etag(url: str, process: subprocess.Popen[bytes], directory: Path) -> str:
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(directory / 'stderr.log').read_text()}")
        try:
            answer = httpx.get(url)
            etag = answer.headers["etag"]
            if httpx.get(url, headers={"If-None-Match": etag}).status_code != 304:
                raise RuntimeError("nginx does not answer 304 to its own ETag")
            return etag
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
