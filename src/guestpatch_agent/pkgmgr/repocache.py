"""Read a repository's rpm-md metadata where the package manager cached it (dnf 4/5, yum 3, tdnf).

The command-line tools do not say whether a repository publishes ``updateinfo`` at all, and dnf 4,
yum and tdnf print neither the issued date nor ``reboot_suggested`` of an advisory. The cached
``repomd.xml`` and ``updateinfo.xml`` that the tool itself downloaded answer both, exactly. When the
cache cannot be found or read (unknown layout, zstd compression before Python 3.14), the answer is
"unknown" and the backend falls back to what the command line said (docs/agent-rpm.md).
"""

import bz2
import gzip
import os
import re
from dataclasses import dataclass, field
from typing import IO, Dict, List, Optional, Sequence, Set, Tuple, Type

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.updateinfo import Advisory, iter_updateinfo, parse_repomd_xml

#: Cache folders under the root: dnf 4, dnf 5, yum 3 (``<arch>/<releasever>/<repo>``), tdnf.
CACHE_DIRS = ("var/cache/dnf", "var/cache/libdnf5", "var/cache/yum", "var/cache/tdnf")
_MAX_DEPTH = 2


@dataclass(frozen=True)
class RepoMetadata:
    repository: str
    #: True/False from the cached repomd.xml; None when no cache was found (unknown).
    has_updateinfo: Optional[bool]
    #: Advisories naming the packages asked about, by id (empty when unreadable).
    advisories: Dict[str, Advisory] = field(default_factory=dict)
    #: Why the advisories could not be read, if they could not.
    problem: Optional[str] = None


def cache_bases(root: Root, extra: Sequence[str] = ()) -> List[str]:
    """The cache folders to search, links followed inside the root (an image's /var may be a link)."""
    return [root.resolve(d) for d in (*extra, *CACHE_DIRS)]


def find_repo_dir(bases: Sequence[str], repoid: str) -> Optional[str]:
    """The newest cached copy of ``repoid``: a folder named ``repoid`` or ``repoid-<hex digest>``."""
    pattern = re.compile("^" + re.escape(repoid) + r"(?:-[0-9a-f]{8,64})?$")
    found: List[Tuple[float, str]] = []

    def visit(path: str, depth: int) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if pattern.match(entry.name):
                repomd = _repomd_path(entry.path)
                if repomd is not None:
                    found.append((os.stat(repomd).st_mtime, entry.path))
                    continue
            if depth < _MAX_DEPTH and entry.name not in ("packages", "repodata", "rpms"):
                visit(entry.path, depth + 1)

    for base in bases:
        visit(base, 0)
    return max(found)[1] if found else None


def _repomd_path(repo_dir: str) -> Optional[str]:
    for candidate in (os.path.join(repo_dir, "repodata", "repomd.xml"), os.path.join(repo_dir, "repomd.xml")):
        if os.path.isfile(candidate):
            return candidate
    return None


_DECOMPRESS_ERRORS: Tuple[Type[Exception], ...] = (OSError, EOFError, ValueError, PackageManagerError)
try:
    import lzma  # not in every minimal Python build

    _DECOMPRESS_ERRORS += (lzma.LZMAError,)
except ImportError:  # pragma: no cover - depends on how Python was built
    lzma = None  # type: ignore[assignment]


def _open_compressed(path: str) -> IO[bytes]:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".xz"):
        if lzma is None:  # pragma: no cover - depends on how Python was built
            raise PackageManagerError("{} is xz-compressed and this Python has no lzma module".format(path))
        return lzma.open(path, "rb")
    if path.endswith((".zst", ".zck")):
        raise PackageManagerError("{} is compressed with zstd, which this Python cannot read".format(path))
    return open(path, "rb")


def read_repo_metadata(bases: Sequence[str], repoid: str, names: Set[str]) -> RepoMetadata:
    """What the cache says about ``repoid``: does it publish updateinfo, and its advisories for ``names``."""
    repo_dir = find_repo_dir(bases, repoid)
    if repo_dir is None:
        return RepoMetadata(repoid, None, problem="no cached metadata found")
    repomd = _repomd_path(repo_dir)
    assert repomd is not None  # find_repo_dir only returns folders that have one
    try:
        with open(repomd, encoding="utf-8", errors="replace") as f:
            types = parse_repomd_xml(f.read())
    except (OSError, PackageManagerError) as exc:
        return RepoMetadata(repoid, None, problem=str(exc))
    href = types.get("updateinfo")
    if href is None:
        return RepoMetadata(repoid, False)
    base = os.path.basename(href)
    for path in (os.path.join(repo_dir, href), os.path.join(repo_dir, base), os.path.join(repo_dir, "repodata", base)):
        if not os.path.isfile(path):
            continue
        try:
            with _open_compressed(path) as stream:
                advisories = {a.id: a for a in iter_updateinfo(stream, names)}
        except _DECOMPRESS_ERRORS as exc:
            return RepoMetadata(repoid, True, problem=str(exc))
        return RepoMetadata(repoid, True, advisories)
    return RepoMetadata(repoid, True, problem="updateinfo listed in repomd.xml but not cached")
