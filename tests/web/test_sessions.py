"""Session cookies and their key: signing, expiry, CSRF tokens, the shared key file."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guestpatch.web.sessions import KEY_FILE, SessionCodec, key_for, load_or_create_key

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
KEY = b"k" * 32


def test_an_issued_cookie_reads_back_as_its_session() -> None:
    """The cookie carries the token id and name, and expires one lifetime after issue."""
    codec = SessionCodec(KEY)
    value, issued = codec.issue(token_id=7, token_name="admin", now=NOW)
    read = codec.read(value, now=NOW + timedelta(minutes=5))
    assert read == issued
    assert (read.token_id, read.token_name, read.expires) == (7, "admin", NOW + codec.lifetime)


def test_a_cookie_is_refused_once_it_expires() -> None:
    """At its expiry the session is over (not one second later)."""
    codec = SessionCodec(KEY, lifetime=timedelta(hours=1))
    value, _ = codec.issue(token_id=1, token_name="admin", now=NOW)
    assert codec.read(value, now=NOW + timedelta(minutes=59, seconds=59)) is not None
    assert codec.read(value, now=NOW + timedelta(hours=1)) is None


def test_a_changed_payload_is_refused() -> None:
    """Changing the token id inside a cookie breaks its signature."""
    codec = SessionCodec(KEY)
    value, _ = codec.issue(token_id=1, token_name="admin", now=NOW)
    other, _ = codec.issue(token_id=2, token_name="admin", now=NOW)
    forged = other.split(".")[0] + "." + value.split(".")[1]
    assert codec.read(forged, now=NOW) is None


def test_a_cookie_signed_with_another_key_is_refused() -> None:
    """A cookie from another server (another key) is not a session here."""
    value, _ = SessionCodec(b"a" * 32).issue(token_id=1, token_name="admin", now=NOW)
    assert SessionCodec(b"b" * 32).read(value, now=NOW) is None


@pytest.mark.parametrize("value", ["", "nodot", ".", "abc.", ".abc", "!!!.###", "e30.e30", "a.b.c"])
def test_malformed_cookies_are_refused_without_error(value: str) -> None:
    """Garbage in the cookie is no session, never an exception."""
    assert SessionCodec(KEY).read(value, now=NOW) is None


def test_each_session_has_its_own_csrf_token() -> None:
    """Two sessions of the same token get different CSRF tokens; each accepts only its own."""
    codec = SessionCodec(KEY)
    _, first = codec.issue(token_id=1, token_name="admin", now=NOW)
    _, second = codec.issue(token_id=1, token_name="admin", now=NOW)
    assert codec.csrf_token(first) != codec.csrf_token(second)
    assert codec.csrf_ok(first, codec.csrf_token(first))
    assert not codec.csrf_ok(first, codec.csrf_token(second))
    assert not codec.csrf_ok(first, "")
    assert not codec.csrf_ok(first, None)


def test_a_short_key_is_refused() -> None:
    """A key shorter than 16 bytes is a programming error, refused at construction."""
    with pytest.raises(ValueError):
        SessionCodec(b"short")


def test_the_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    """The first call writes a 0600 key file; later calls (other workers) read the same key."""
    first = load_or_create_key(tmp_path)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path) == first
    assert len(first) == 32
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """Concurrent first calls all return the one key that ended up in the file."""
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        keys.append(load_or_create_key(tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert keys[0] == (tmp_path / KEY_FILE).read_bytes()


def test_without_a_data_directory_the_key_lives_in_the_process(tmp_path: Path) -> None:
    """A missing data directory gives a fresh random key and writes nothing."""
    missing = tmp_path / "absent"
    assert key_for(missing) != key_for(missing)
    assert not missing.exists()
