"""Which version of a month's file a source publishes: its ETag, Last-Modified and size, as the
download recorded them and as a HEAD request finds them now (`source.probe`). No Dagster, no
download.

The TLC rewrites published files in place (docs/datasets.md, "Revised files"); comparing these
three is how a revised month is told from an unchanged one without fetching it again.
"""

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
