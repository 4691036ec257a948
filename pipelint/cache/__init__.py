"""Per-file result cache in ``.pipelint_cache/`` at the project root.

Key: the file's content, the effective configuration (``Config.fingerprint()``),
the pipelint version, the command catalog, the display path, and the *project
digest* (``ProjectGraph.digest()``: the import roots and the content of every
project module that can define clients for other files). Changing a module that
defines clients therefore invalidates every cached result; changing any other
file invalidates only that file's entry.

Layout: ``<cache>/<version>/<k[:2]>/<k>``, one entry per file result. Entries are
written to a temporary file and ``os.replace``d, so concurrent runs never see a
partial entry; each entry carries a checksum, and an entry that fails the check
(truncated, garbage, another format) is ignored and rewritten. Directories of
other pipelint versions are deleted; entries not used for ``MAX_AGE_DAYS`` are
removed (checked at most once a day).

The cache only ever deletes what it can prove it created: a version directory
is removed only when its name is one this module gives (``v<version>``) *and* it
holds the marker file this module writes into every version directory it
creates (``MARKER_NAME``, with ``MARKER`` as its content); inside its own version
directory, only entry files (hex names in two-hex-digit folders) and its own
temporary files are removed. A folder given with ``--cache-dir`` that holds
other things (``--cache-dir .``) is never cleaned of them, and the
``CACHEDIR.TAG``/``.gitignore`` that mark a cache folder are only written into
a folder the cache created itself or that is empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import pipelint
from pipelint.diagnostics import Diagnostic, Edit, FileResult, Fix, Location

__all__ = ["Cache", "default_cache_dir", "result_to_json", "result_from_json", "catalog_hash"]

MAGIC = b"pipelint-cache 1\n"
#: Written into every version directory the cache creates; proof that it is ours.
MARKER_NAME = ".pipelint-cache-dir"
MARKER = b"pipelint cache version directory; safe to delete with its parent's pipelint cache\n"
_CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# pipelint cache\n"
_VERSION_DIR = re.compile(r"v[A-Za-z0-9._-]+")
_ENTRY = re.compile(r"[0-9a-f]{40}")
_SHARD = re.compile(r"[0-9a-f]{2}")
MAX_AGE_DAYS = 14
_CLEAN_INTERVAL = 24 * 3600


def default_cache_dir(cwd: Path | None = None) -> Path:
    """``.pipelint_cache`` in the project root found from the working directory (the
    folder of the nearest configuration file, ``.pipelint.toml``, ``pipelint.toml`` or
    ``pyproject.toml``, at or above it, else the working directory
    itself), as ruff places its cache: never beside the files being checked, which
    may be anywhere (``pipelint check ../other/pkg/a.py``)."""
    from pipelint.config import find_pyproject

    cwd = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(cwd)
    return (pyproject.parent if pyproject is not None else cwd) / ".pipelint_cache"


def catalog_hash() -> str:
    path = Path(__file__).resolve().parent.parent / "catalog" / "commands.json"
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    except OSError:
        return "none"


def _loc(d: dict[str, int]) -> Location:
    return Location(int(d["row"]), int(d["column"]))


def _diag_to_json(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": d.code,
        "message": d.message,
        "location": [d.location.row, d.location.column],
        "end_location": [d.end_location.row, d.end_location.column],
        "noqa_row": d.noqa_row,
        "noqa_rows": list(d.noqa_rows) if d.noqa_rows is not None else None,
        "suppressed": d.suppressed,
        "suppression": d.suppression,
    }
    if d.fix is not None:
        out["fix"] = {
            "applicability": d.fix.applicability,
            "message": d.fix.message,
            "edits": [
                [
                    e.start,
                    e.end,
                    e.content,
                    [e.location.row, e.location.column],
                    [e.end_location.row, e.end_location.column],
                ]
                for e in d.fix.edits
            ],
        }
    return out


def _diag_from_json(d: dict[str, Any], path: str) -> Diagnostic:
    fix = None
    if d.get("fix") is not None:
        f = d["fix"]
        fix = Fix(
            str(f["applicability"]),
            str(f["message"]),
            tuple(
                Edit(int(s), int(e), str(c), Location(*map(int, lo)), Location(*map(int, el)))
                for s, e, c, lo, el in f["edits"]
            ),
        )
    noqa = d.get("noqa_row")
    rows = d.get("noqa_rows")
    return Diagnostic(
        str(d["code"]),
        str(d["message"]),
        path,
        Location(*map(int, d["location"])),
        Location(*map(int, d["end_location"])),
        fix=fix,
        noqa_row=int(noqa) if noqa is not None else None,
        noqa_rows=tuple(int(r) for r in rows) if rows is not None else None,
        suppressed=bool(d["suppressed"]),
        suppression=d.get("suppression"),
    )


def result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "diagnostics": [_diag_to_json(d) for d in result.diagnostics],
        "parsed": result.parsed,
        "lines": result.lines,
        "warnings": result.warnings,
    }


def result_from_json(data: dict[str, Any], path: str) -> FileResult:
    return FileResult(
        path,
        [_diag_from_json(d, path) for d in data["diagnostics"]],
        parsed=bool(data["parsed"]),
        lines=int(data["lines"]),
        warnings=[str(w) for w in data.get("warnings", [])],
    )


class Cache:
    def __init__(self, directory: Path, fingerprint: str, version: str | None = None) -> None:
        self.base = directory
        self.version = version if version is not None else pipelint.__version__
        self.dir = directory / _safe(self.version)
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0
        self._prepared: bool | None = None

    @staticmethod
    def content_hash(data: bytes) -> str:
        return hashlib.blake2b(data, digest_size=16).hexdigest()

    def key(self, content_hash: str, display: str, project_digest: str) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (self.version, self.fingerprint, content_hash, display, project_digest):
            h.update(part.encode("utf-8", "surrogateescape") + b"\0")
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / key

    def get(self, key: str, display: str) -> FileResult | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        result = _decode(raw, key, display)
        if result is None:
            self.misses += 1
            return None
        self.hits += 1
        try:
            if time.time() - path.stat().st_mtime > _CLEAN_INTERVAL:
                os.utime(path)  # "used recently": survives the age-based cleaning
        except OSError:
            pass
        return result

    def put(self, key: str, result: FileResult) -> None:
        payload = json.dumps(
            {"key": key, "result": result_to_json(result)}, separators=(",", ":")
        ).encode("utf-8")
        digest = hashlib.blake2b(payload, digest_size=16).hexdigest().encode()
        blob = MAGIC + digest + b"\n" + payload
        path = self._path(key)
        if not self._prepare():
            return  # not a folder we may write into: run without caching
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(blob)
                os.replace(tmp, path)
            except BaseException:
                with _suppress():
                    os.unlink(tmp)
                raise
        except OSError:
            pass  # a read-only or full disk: run without caching

    def _prepare(self) -> bool:
        """Create (or adopt) this version's directory; False if it may not be used."""
        if self._prepared is None:
            try:
                self._prepared = self._create()
            except OSError:
                self._prepared = False
        return self._prepared

    def _create(self) -> bool:
        base_is_new = not self.base.exists()
        self.base.mkdir(parents=True, exist_ok=True)
        if base_is_new or _is_empty(self.base) or _is_ours(self.base):
            # a folder of our own: mark it as a cache (backup tools, git)
            tag = self.base / "CACHEDIR.TAG"
            if not tag.exists():
                with _suppress():
                    tag.write_text(_CACHEDIR_TAG)
            gi = self.base / ".gitignore"
            if not gi.exists():
                with _suppress():
                    gi.write_text("*\n")
        created = False
        try:
            self.dir.mkdir()
            created = True
        except FileExistsError:
            pass
        if not _has_marker(self.dir):
            # adopt an existing version folder only when it is provably a cache's
            # (an earlier pipelint's, inside a folder tagged as our cache) or empty
            if not (created or _is_empty(self.dir) or _is_ours(self.base)):
                return False  # a folder of someone else's that happens to have our name
            (self.dir / MARKER_NAME).write_bytes(MARKER)
        return True

    def clean(self, force: bool = False) -> int:
        """Delete other versions' directories and entries unused for MAX_AGE_DAYS.
        Runs at most once a day (``force`` to run now). Returns entries removed.

        Only what the cache provably created is deleted (see the module docstring):
        nothing at all unless this version's directory carries the marker."""
        marker = self.dir / ".last-clean"
        now = time.time()
        try:
            if not force and now - marker.stat().st_mtime < _CLEAN_INTERVAL:
                return 0
        except OSError:
            pass
        if not _has_marker(self.dir):
            return 0
        removed = 0
        with _suppress():
            for child in self.base.iterdir():
                if (
                    child != self.dir
                    and _VERSION_DIR.fullmatch(child.name)
                    and not child.is_symlink()
                    and child.is_dir()
                    and _has_marker(child)
                ):
                    shutil.rmtree(child, ignore_errors=True)
        limit = now - MAX_AGE_DAYS * 86400
        with _suppress():
            for sub in self.dir.iterdir():
                if not _SHARD.fullmatch(sub.name) or sub.is_symlink() or not sub.is_dir():
                    continue
                for entry in sub.iterdir():
                    with _suppress():
                        st = entry.lstat()
                        if not stat.S_ISREG(st.st_mode):
                            continue
                        stale_tmp = entry.name.startswith(".tmp-") and st.st_mtime < now - 3600
                        old_entry = _ENTRY.fullmatch(entry.name) and st.st_mtime < limit
                        if old_entry or stale_tmp:
                            entry.unlink()
                            removed += 1
        with _suppress():
            marker.touch()
        return removed


def _has_marker(directory: Path) -> bool:
    try:
        return (directory / MARKER_NAME).read_bytes() == MARKER
    except OSError:
        return False


def _is_ours(directory: Path) -> bool:
    try:
        return (directory / "CACHEDIR.TAG").read_text(errors="replace") == _CACHEDIR_TAG
    except OSError:
        return False


def _is_empty(directory: Path) -> bool:
    try:
        return next(directory.iterdir(), None) is None
    except OSError:
        return False


def _decode(raw: bytes, key: str, display: str) -> FileResult | None:
    """The result in an entry, or None if the entry is not exactly what we wrote."""
    try:
        if not raw.startswith(MAGIC):
            return None
        rest = raw[len(MAGIC) :]
        digest, _, payload = rest.partition(b"\n")
        if hashlib.blake2b(payload, digest_size=16).hexdigest().encode() != digest:
            return None
        data = json.loads(payload)
        if data.get("key") != key:
            return None
        return result_from_json(data["result"], display)
    except Exception:  # noqa: BLE001 - a bad entry is a miss, never an error
        return None


def _safe(version: str) -> str:
    return "v" + "".join(c if c.isalnum() or c in "._-" else "_" for c in version)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]
