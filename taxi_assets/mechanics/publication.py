"""Which version of a month's file a source publishes: its ETag, Last-Modified and size, as the
download recorded them and as a HEAD request finds them now. No Dagster, no download.

The TLC rewrites published files in place (docs/datasets.md, "Revised files"); comparing these
three is how a revised month is told from an unchanged one without fetching it again.
"""

import email.utils
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from taxi_assets.mechanics.errors import TaxiError, TransientError

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_NOT_YET = {403, 404}  # the TLC's CloudFront answers 403 for a month not published, GitHub 404


@dataclass(frozen=True)
class FileVersion:
    """What identifies one published version of a file; a field the server did not send is
    None and is not compared."""

    etag: str | None
    last_modified: str | None
    size: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> "FileVersion":
        size = headers.get("Content-Length")
        return cls(
            headers.get("ETag") or None,
            headers.get("Last-Modified") or None,
            int(size) if size and size.isdigit() else None,
        )

    @classmethod
    def of_path(cls, path: Path) -> "FileVersion":
        """A local file's (a file:// source): its size and modification time."""
        facts = path.stat()
        modified = email.utils.formatdate(facts.st_mtime, usegmt=True)
        return cls(f'"{facts.st_size:x}-{facts.st_mtime_ns:x}"', modified, facts.st_size)

    def changes_from(self, recorded: "FileVersion") -> str:
        """How this version differs from `recorded`, '' when it is the same file: the ETag when
        both have one (it changes with the content), else Last-Modified, and the size always."""
        changes = []
        if self.etag and recorded.etag:
            if self.etag != recorded.etag:
                changes.append(f"ETag {recorded.etag} -> {self.etag}")
        elif (
            self.last_modified
            and recorded.last_modified
            and self.last_modified != recorded.last_modified
        ):
            changes.append(f"Last-Modified {recorded.last_modified} -> {self.last_modified}")
        if self.size is not None and recorded.size is not None and self.size != recorded.size:
            changes.append(f"size {recorded.size:,} -> {self.size:,} bytes")
        return ", ".join(changes)

    @property
    def label(self) -> str:
        """A short, stable name of this version (for run keys): the ETag, else the date, else
        the size."""
        return (self.etag or self.last_modified or f"{self.size} bytes").strip('"')


def probe(url: str, what: str, timeout: tuple[float, float]) -> FileVersion | None:
    """The version `url` publishes now (a HEAD request, redirects followed), None when it is not
    published yet (403 or 404); TransientError when the source cannot be reached or errs."""
    if url.startswith("file://"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        return FileVersion.of_path(path) if path.is_file() else None
    try:
        response = requests.head(url, timeout=timeout, allow_redirects=True)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"{what}: cannot reach {url}: {exc}") from exc
    if response.status_code in _NOT_YET:
        return None
    if response.status_code in _TRANSIENT_STATUS:
        raise TransientError(f"{what}: {url} answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise TaxiError(f"{what}: {url} answered HTTP {response.status_code} {response.reason}")
    return FileVersion.from_headers(response.headers)
