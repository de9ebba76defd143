"""The data lake: verified files under their final names, each with a manifest entry beside it.

A file only ever gets its final name by an atomic rename after the whole stream was verified,
and it is trusted later only while it still matches its manifest.
"""

import contextlib
import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from taxi_assets.errors import BadSourceFileError, TaxiError, TransientError
from taxi_assets.gzip_csv import FileFacts, GzipCsvVerifier, verify_file

_TEMP_MARK = ".part-"


@dataclass(frozen=True)
class LakeFile:
    """A verified month in the lake, as its manifest records it."""

    month: str
    path: Path
    url: str
    bytes: int
    sha256: str
    rows: int

    @property
    def where(self) -> str:
        """`2021-03 (…/yellow_tripdata_2021-03.csv.gz)` for error messages."""
        return f"{self.month} ({self.path})"


class Lake:
    """Paths, manifests and atomic writes under one root folder."""

    def __init__(self, root: Path, max_uncompressed_bytes: int) -> None:
        self.root = root
        self.max_uncompressed_bytes = max_uncompressed_bytes

    def path_for(self, month: dt.date) -> Path:
        """`<root>/yellow/yellow_tripdata_YYYY-MM.csv.gz`, built from a parsed date only."""
        return self.root / "yellow" / f"yellow_tripdata_{month:%Y-%m}.csv.gz"

    def relative_path(self, month: dt.date) -> str:
        """The same path relative to the root: also the path under the mirror's base URL."""
        return self.path_for(month).relative_to(self.root).as_posix()

    @staticmethod
    def manifest_path(path: Path) -> Path:
        return path.with_name(path.name + ".manifest.json")

    def verified(self, month: dt.date) -> LakeFile | None:
        """The month's file if present and still matching its manifest, else None."""
        path = self.path_for(month)
        entry = self._read_manifest(path)
        if entry is None or not path.is_file() or path.stat().st_size != entry.bytes:
            return None
        try:
            facts = verify_file(path, entry.where, self.max_uncompressed_bytes)
        except BadSourceFileError:  # corrupted since it was verified: download it again
            return None
        if (facts.sha256, facts.rows) != (entry.sha256, entry.rows):
            return None
        return entry

    def recorded(self, month: dt.date) -> LakeFile:
        """The manifest entry raw_csv stored; the load re-checks the sha256 as it reads."""
        path = self.path_for(month)
        entry = self._read_manifest(path)
        if entry is None or not path.is_file():
            raise TaxiError(
                f"{month:%Y-%m}: {path} is not in the lake with a manifest; materialize raw_csv "
                "for this month first"
            )
        return entry

    def _read_manifest(self, path: Path) -> LakeFile | None:
        try:
            raw = json.loads(self.manifest_path(path).read_text())
            return LakeFile(**{**raw, "path": path})
        except (OSError, ValueError, TypeError):
            return None

    def store(
        self,
        month: dt.date,
        url: str,
        chunks: Iterable[bytes],
        on_progress: Callable[[int], None] = lambda _: None,
    ) -> LakeFile:
        """Write `chunks` to a temporary name, verify them, then rename into place atomically."""
        path = self.path_for(month)
        path.parent.mkdir(parents=True, exist_ok=True)
        where = f"{month:%Y-%m} ({url})"
        with _live_temporary(path) as (temp, handle):
            facts = self._write_verified(handle, chunks, where, on_progress)
            entry = LakeFile(f"{month:%Y-%m}", path, url, facts.bytes, facts.sha256, facts.rows)
            os.replace(temp, path)
        self._write_manifest(entry)
        _fsync_dir(path.parent)
        return entry

    def _write_verified(
        self,
        handle: BinaryIO,
        chunks: Iterable[bytes],
        where: str,
        on_progress: Callable[[int], None],
    ) -> FileFacts:
        verifier = GzipCsvVerifier(where, self.max_uncompressed_bytes)
        written = 0
        for chunk in chunks:
            verifier.feed(chunk)
            handle.write(chunk)
            written += len(chunk)
            on_progress(written)
        handle.flush()
        os.fsync(handle.fileno())
        return verifier.finish()

    def _write_manifest(self, entry: LakeFile) -> None:
        record = {key: value for key, value in asdict(entry).items() if key != "path"}
        target = self.manifest_path(entry.path)
        with _live_temporary(target) as (temp, handle):
            handle.write((json.dumps(record, indent=2) + "\n").encode())
            handle.flush()
            os.replace(temp, target)

    def remove_abandoned_temporaries(self, month: dt.date) -> int:
        """Delete the month's temporary files whose writer is gone (a killed run's).

        A live writer holds a lock on its temporary file; the kernel drops it when the process
        dies, even by kill -9, so an unlocked temporary belongs to no one.
        """
        path = self.path_for(month)
        removed = 0
        for temp in path.parent.glob(f"{path.name}*{_TEMP_MARK}*") if path.parent.is_dir() else []:
            with contextlib.suppress(FileNotFoundError), temp.open("rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live download is writing it
                temp.unlink()
                removed += 1
        return removed


@contextlib.contextmanager
def _live_temporary(final: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A new temporary file beside `final`, locked while this process writes and renames it."""
    temp = final.with_name(f"{final.name}{_TEMP_MARK}{uuid.uuid4().hex}")
    try:
        with temp.open("xb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if os.fstat(handle.fileno()).st_nlink == 0:  # a cleaner took it in the instant before
                raise TransientError(f"{temp} was removed as abandoned before it was locked")
            yield temp, handle
    finally:
        temp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
