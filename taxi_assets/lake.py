"""The data lake: verified files under their final names, each with a manifest entry beside it.

A file only ever gets its final name after the whole stream was verified under a temporary name,
and it is trusted later only while it still matches its manifest. The root is a local folder
(atomic rename, fsync) or an object store URL such as `s3://bucket/prefix` (a universal-pathlib
path: a single PUT is atomic, and the final key is made by a server-side copy of the verified
temporary key, which is deleted afterwards).
"""

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from taxi_assets.errors import TaxiError
from taxi_assets.gzip_csv import FileFacts, GzipCsvVerifier, verify_file

if TYPE_CHECKING:
    from upath import UPath

_TEMP_MARK = ".part-"
# A local folder, or a universal-pathlib path on an object store (same pathlib interface).
LakePath: TypeAlias = "Path | UPath"


@dataclass(frozen=True)
class LakeFile:
    """A verified month in the lake, as its manifest records it."""

    month: str
    path: LakePath
    url: str
    bytes: int
    sha256: str
    rows: int

    @property
    def where(self) -> str:
        """`2021-03 (…/yellow_tripdata_2021-03.csv.gz)` for error messages."""
        return f"{self.month} ({self.path})"


class Lake:
    """Paths, manifests and atomic writes under one root folder or object store prefix."""

    def __init__(self, root: LakePath, max_uncompressed_bytes: int) -> None:
        self.root = root
        self.max_uncompressed_bytes = max_uncompressed_bytes

    def path_for(self, month: dt.date) -> LakePath:
        """`<root>/yellow/yellow_tripdata_YYYY-MM.csv.gz`, built from a parsed date only."""
        return self.root / self.relative_path(month)

    def relative_path(self, month: dt.date) -> str:
        """The path relative to the root: also the path under the mirror's base URL."""
        return f"yellow/yellow_tripdata_{month:%Y-%m}.csv.gz"

    @staticmethod
    def manifest_path(path: LakePath) -> LakePath:
        return path.with_name(path.name + ".manifest.json")

    def verified(self, month: dt.date) -> LakeFile | None:
        """The month's file if present and still matching its manifest, else None."""
        path = self.path_for(month)
        entry = self._read_manifest(path)
        if entry is None or not path.is_file() or path.stat().st_size != entry.bytes:
            return None
        facts = verify_file(path, entry.where, self.max_uncompressed_bytes)
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

    def _read_manifest(self, path: LakePath) -> LakeFile | None:
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
        """Write `chunks` to a temporary name, verify them, then give them the final name."""
        path = self.path_for(month)
        if _is_local(path):
            path.parent.mkdir(parents=True, exist_ok=True)
        where = f"{month:%Y-%m} ({url})"
        temp = path.with_name(f"{path.name}{_TEMP_MARK}{uuid.uuid4().hex}")
        try:
            facts = self._write_verified(temp, chunks, where, on_progress)
            _check_stored_size(temp, facts.bytes, where)
            entry = LakeFile(f"{month:%Y-%m}", path, url, facts.bytes, facts.sha256, facts.rows)
            _publish(temp, path)
            self._write_manifest(entry)
        finally:
            temp.unlink(missing_ok=True)
        return entry

    def _write_verified(
        self,
        temp: LakePath,
        chunks: Iterable[bytes],
        where: str,
        on_progress: Callable[[int], None],
    ) -> FileFacts:
        verifier = GzipCsvVerifier(where, self.max_uncompressed_bytes)
        written = 0
        with temp.open("wb") as handle:
            for chunk in chunks:
                verifier.feed(chunk)
                handle.write(chunk)
                written += len(chunk)
                on_progress(written)
            if _is_local(temp):
                handle.flush()
                os.fsync(handle.fileno())
        return verifier.finish()

    def _write_manifest(self, entry: LakeFile) -> None:
        record = {key: value for key, value in asdict(entry).items() if key != "path"}
        target = self.manifest_path(entry.path)
        temp = target.with_name(f"{target.name}{_TEMP_MARK}{uuid.uuid4().hex}")
        try:
            temp.write_text(json.dumps(record, indent=2) + "\n")
            _publish(temp, target)
        finally:
            temp.unlink(missing_ok=True)

    def remove_stale_temporaries(self, month: dt.date, older_than_seconds: float) -> int:
        """Delete temporary files a killed run left for this month; return how many.

        On an object store that includes unfinished multipart uploads to temporary keys.
        """
        path = self.path_for(month)
        cutoff = dt.datetime.now().timestamp() - older_than_seconds
        removed = 0 if _is_local(path) else _abort_stale_uploads(path, cutoff)
        if not path.parent.is_dir():
            return removed
        stale = [
            p for p in path.parent.glob(f"{path.name}*{_TEMP_MARK}*") if p.stat().st_mtime < cutoff
        ]
        for p in stale:
            p.unlink(missing_ok=True)
        return removed + len(stale)


def _is_local(path: LakePath) -> bool:
    return isinstance(path, Path)


def _abort_stale_uploads(path: LakePath, cutoff: float) -> int:
    """Abort multipart uploads to `path`'s temporary keys begun before `cutoff` (an upload cut
    off midway leaves one: no object, but stored parts). Only S3-compatible stores have them."""
    fs: Any = getattr(path, "fs", None)
    if not hasattr(fs, "list_multipart_uploads"):
        return 0
    bucket, _, key = str(path.path).partition("/")  # type: ignore[union-attr]
    stale = [
        upload
        for upload in fs.list_multipart_uploads(bucket)
        if upload["Key"].startswith(f"{key}{_TEMP_MARK}")
        and upload["Initiated"].timestamp() < cutoff
    ]
    for upload in stale:
        fs.call_s3(
            "abort_multipart_upload", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
    return len(stale)


def _check_stored_size(temp: LakePath, expected: int, where: str) -> None:
    """The stored temporary object holds every byte that was verified (an object store check)."""
    stored = temp.stat().st_size
    if stored != expected:
        raise TaxiError(f"{where}: {temp} holds {stored:,} bytes after writing {expected:,}")


def _publish(temp: LakePath, final: LakePath) -> None:
    """Give verified `temp` its final name: local atomic rename + fsync, else server-side copy.

    On an object store the copy is one request that makes the final key appear whole (a copy is
    atomic; the caller then deletes the temporary key).
    """
    if isinstance(temp, Path) and isinstance(final, Path):
        os.replace(temp, final)
        _fsync_dir(final.parent)
        return
    temp.fs.copy(temp.path, final.path)  # type: ignore[union-attr]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
