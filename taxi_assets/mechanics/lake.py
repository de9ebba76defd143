"""The data lake: verified files under their final names, each with a manifest entry beside it.

A file only ever gets its final name after the whole stream was verified under a temporary name,
and it is trusted later only while it still matches its manifest. The root is a local folder
(atomic rename, fsync) or an object store URL such as `s3://bucket/prefix` (a universal-pathlib
path: a single PUT is atomic, and the final key is made by a server-side copy of the verified
temporary key, which is deleted afterwards).
"""

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import io
import json
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeAlias

from taxi_assets.mechanics.dataset_spec import MIRROR, TLC, DatasetSpec, MonthFile
from taxi_assets.mechanics.errors import BadSourceFileError, TaxiError, TransientError
from taxi_assets.mechanics.finite_numbers import refusing_non_finite
from taxi_assets.mechanics.publication import FileVersion
from taxi_assets.mechanics.verifier import (
    FileFacts,
    GzipCsvVerifier,
    inflate_chunks,
    read_chunks,
    verify_file,
)

if TYPE_CHECKING:
    from upath import UPath

_TEMP_MARK = ".part-"
_MANIFEST_SUFFIX = ".manifest.json"  # beside the file it records: `<file name>.manifest.json`
_PARQUET_MAGIC = b"PAR1"
# A local folder, or a universal-pathlib path on an object store (same pathlib interface).
LakePath: TypeAlias = "Path | UPath"
# An object store has no locks: a temporary key or unfinished upload this old has no writer.
ABANDONED_OBJECT_SECONDS = 3600.0


@dataclass(frozen=True)
class LakeFile:
    """A verified month in the lake, as its manifest records it."""

    month: str
    path: LakePath
    url: str
    bytes: int
    sha256: str
    rows: int
    source: str = MIRROR  # manifests written before the TLC's files were a source lack it
    # The published version downloaded (docs/datasets.md, "Revised files"); older manifests
    # lack them, and then only the size tells a revised file.
    etag: str | None = None
    last_modified: str | None = None

    @property
    def version(self) -> FileVersion:
        """The version of the source's file this copy is."""
        return FileVersion(self.etag, self.last_modified, self.bytes)

    @property
    def where(self) -> str:
        """`2021-03 (…/yellow_tripdata_2021-03.csv.gz)` for error messages."""
        return f"{self.month} ({self.path})"


class Lake:
    """Paths, manifests and atomic writes under one root folder or object store prefix."""

    def __init__(
        self,
        root: LakePath,
        max_uncompressed_bytes: int,
        tlc_every_month: bool = False,
        keep_months: int = 0,
    ) -> None:
        self.root = root
        self.max_uncompressed_bytes = max_uncompressed_bytes
        self.tlc_every_month = tlc_every_month
        self.keep_months = keep_months  # 0: keep every month's file

    def prune(self, spec: DatasetSpec, loaded: set[str]) -> list[LakePath]:
        """Remove the files of the dataset's months older than its newest `keep_months` in the
        lake, those already loaded only; their manifests stay (the record of the version loaded,
        which the TLC sensor compares with). The files are the ones the dataset's manifests
        record, by month. The removed paths, oldest first."""
        if self.keep_months <= 0:
            return []
        folder = self.root / spec.name
        files: dict[str, list[LakePath]] = {}  # month -> its files still in the lake
        for manifest in folder.glob(f"*{_MANIFEST_SUFFIX}") if folder.is_dir() else []:
            path = manifest.with_name(manifest.name.removesuffix(_MANIFEST_SUFFIX))
            entry = self._recorded_beside(path)
            if entry is not None and path.is_file():
                files.setdefault(entry.month, []).append(path)
        older = sorted(files)[: -self.keep_months]
        removed = [path for month in older if month in loaded for path in sorted(files[month])]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def month_file(self, spec: DatasetSpec, month: dt.date) -> MonthFile:
        """Which source the month comes from, and its paths (dataset_spec.py decides)."""
        return spec.month_file(month, self.tlc_every_month)

    def path_for(self, spec: DatasetSpec, month: dt.date) -> LakePath:
        """`<root>/<name>/<name>_tripdata_YYYY-MM.csv.gz` (or `.parquet`, the TLC's), built
        from a parsed date only."""
        return self.root / self.month_file(spec, month).lake_path

    @staticmethod
    def manifest_path(path: LakePath) -> LakePath:
        return path.with_name(path.name + _MANIFEST_SUFFIX)

    def verified(self, spec: DatasetSpec, month: dt.date) -> LakeFile | None:
        """The month's file if present and still matching its manifest, else None."""
        path = self.path_for(spec, month)
        entry = self._read_manifest(path, month)
        if entry is None or not path.is_file() or path.stat().st_size != entry.bytes:
            return None
        try:
            facts = self._verify(spec, month, path, entry.where)
        except BadSourceFileError:  # corrupted since it was verified: download it again
            return None
        if (facts.sha256, facts.rows) != (entry.sha256, entry.rows):
            return None
        return entry

    def manifest(self, spec: DatasetSpec, month: dt.date) -> LakeFile | None:
        """The month's manifest entry, whether or not its file is still in the lake (a lake that
        keeps only its latest months removes older files and keeps their manifests)."""
        return self._read_manifest(self.path_for(spec, month), month)

    def recorded(self, spec: DatasetSpec, month: dt.date) -> LakeFile:
        """The manifest entry the raw asset stored; the load re-checks the sha256 as it reads."""
        path = self.path_for(spec, month)
        entry = self._read_manifest(path, month)
        if entry is None or not path.is_file():
            raise TaxiError(
                f"{month:%Y-%m}: {path} is not in the lake with a manifest that matches it (a "
                f"missing, rejected or corrupt one); materialize {spec.raw_asset} for this "
                "month first"
            )
        return entry

    def _verify(self, spec: DatasetSpec, month: dt.date, path: LakePath, where: str) -> FileFacts:
        if not self.month_file(spec, month).parquet:
            return verify_file(path, where, self.max_uncompressed_bytes, spec)
        from taxi_assets.mechanics import parquet  # pyarrow: only when a Parquet month is used

        sha, size = _sha256(path)
        return FileFacts(size, sha, parquet.inspect(path, spec, month, where), size)

    def copy_rows(
        self, spec: DatasetSpec, lake_file: LakeFile, on_batch: Callable[[Any], None] | None = None
    ) -> Iterator[bytes]:
        """The month's rows for COPY: the mirror's CSV as it is (header first), a Parquet
        month's in COPY text (copy_format.py); a file that changed since it was verified fails
        (before its first row, for Parquet). `on_batch` sees a Parquet month's Arrow batches."""
        if lake_file.source != TLC:
            rows = self.read(lake_file, spec.raw_asset)
            yield from refusing_non_finite(rows, spec.columns, lake_file.where)
            return
        from taxi_assets.mechanics import parquet

        if _sha256(lake_file.path)[0] != lake_file.sha256:
            raise BadSourceFileError(
                f"{lake_file.where} no longer matches its manifest sha256; materialize "
                f"{spec.raw_asset} for this month again"
            )
        month = dt.datetime.strptime(lake_file.month, "%Y-%m").date()
        yield from parquet.text_chunks(
            lake_file.path, spec, month, lake_file.where, on_batch=on_batch
        )

    @staticmethod
    def read(lake_file: LakeFile, producer: str) -> Iterator[bytes]:
        """The file's decompressed bytes in bounded chunks; after the last one, fail if the file
        changed since it was verified (`producer` is the asset to materialize again)."""
        sha = hashlib.sha256()
        yield from inflate_chunks(lake_file.path, lake_file.where, sha)
        if sha.hexdigest() != lake_file.sha256:
            raise BadSourceFileError(
                f"{lake_file.where} no longer matches its manifest sha256; materialize "
                f"{producer} for this month again"
            )

    def _read_manifest(self, path: LakePath, month: dt.date) -> LakeFile | None:
        """The manifest entry, or None when missing or corrupt.

        Where rows go is decided by the partition key alone: a manifest naming another month,
        or a URL of another file, than its own path is corrupt, and its file unverified.
        """
        entry = self._recorded_beside(path)
        return entry if entry is not None and entry.month == f"{month:%Y-%m}" else None

    def _recorded_beside(self, path: LakePath) -> LakeFile | None:
        """The entry of `path`'s manifest, or None when it is missing, unreadable or its URL
        names another file than `path`."""
        manifest = self.manifest_path(path)
        try:
            if not manifest.is_file():  # reading a FIFO under that name would wait for ever
                return None
            raw = json.loads(manifest.read_text())
            entry = LakeFile(**{**raw, "path": path})
        except (OSError, ValueError, TypeError):
            return None
        return entry if entry.url.endswith("/" + path.name) else None

    def store(
        self,
        spec: DatasetSpec,
        month: dt.date,
        url: str,
        chunks: Iterable[bytes],
        on_progress: Callable[[int], None] = lambda _: None,
        version: FileVersion | None = None,
    ) -> LakeFile:
        """Write `chunks` to a temporary name, verify them, then give them the final name; the
        manifest records `version`, the published version they are.

        Temporaries a killed writer left behind are removed first."""
        self.remove_abandoned_temporaries(spec, month)
        path, source = self.path_for(spec, month), self.month_file(spec, month).source
        where = f"{month:%Y-%m} ({url})"
        with _disk_errors_named(f"{month:%Y-%m}", path), _temporary(path) as (temp, handle):
            if source == TLC:
                facts = self._write_parquet(spec, month, temp, handle, chunks, where, on_progress)
            else:
                facts = self._write_verified(handle, chunks, where, on_progress, spec)
            key = f"{month:%Y-%m}"
            etag, modified = (version.etag, version.last_modified) if version else (None, None)
            entry = LakeFile(
                key, path, url, facts.bytes, facts.sha256, facts.rows, source, etag, modified
            )
            _publish(temp, handle, path, facts.bytes, where)
        with _disk_errors_named(f"{month:%Y-%m}", self.manifest_path(path)):
            self._write_manifest(entry)
        return entry

    def _write_verified(
        self,
        handle: BinaryIO,
        chunks: Iterable[bytes],
        where: str,
        on_progress: Callable[[int], None],
        spec: DatasetSpec,
    ) -> FileFacts:
        verifier = GzipCsvVerifier(where, self.max_uncompressed_bytes, spec)
        written = 0
        for chunk in chunks:
            verifier.feed(chunk)
            handle.write(chunk)
            written += len(chunk)
            on_progress(written)
        handle.flush()
        with contextlib.suppress(io.UnsupportedOperation):  # an object store upload has no fd
            os.fsync(handle.fileno())
        return verifier.finish()

    def _write_parquet(
        self,
        spec: DatasetSpec,
        month: dt.date,
        temp: LakePath,
        handle: BinaryIO,
        chunks: Iterable[bytes],
        where: str,
        on_progress: Callable[[int], None],
    ) -> FileFacts:
        """Write a Parquet file as it streams, hashing it; then read its footer from the
        temporary: the declared columns and the row count. Its final name comes after."""
        sha, written = hashlib.sha256(), 0
        for chunk in chunks:
            if written == 0 and chunk and not chunk.startswith(_PARQUET_MAGIC[: len(chunk)]):
                preview = chunk[:40].decode("latin-1").strip()
                raise BadSourceFileError(
                    f"{where} is not a Parquet file (it starts with {preview!r})"
                )
            sha.update(chunk)
            handle.write(chunk)
            written += len(chunk)
            on_progress(written)
        if written == 0:
            raise BadSourceFileError(f"{where} is empty")
        handle.flush()
        with contextlib.suppress(io.UnsupportedOperation):
            os.fsync(handle.fileno())
        if not isinstance(temp, Path):
            handle.close()  # an object store's upload must complete before it can be read
        from taxi_assets.mechanics import parquet

        rows = parquet.inspect(temp, spec, month, where)
        return FileFacts(written, sha.hexdigest(), rows, written)

    def _write_manifest(self, entry: LakeFile) -> None:
        record = {key: value for key, value in asdict(entry).items() if key != "path"}
        body = (json.dumps(record, indent=2) + "\n").encode()
        target = self.manifest_path(entry.path)
        with _temporary(target) as (temp, handle):
            handle.write(body)
            handle.flush()
            _publish(temp, handle, target, len(body), f"{entry.month} manifest")

    def remove_abandoned_temporaries(
        self,
        spec: DatasetSpec,
        month: dt.date,
        object_age_seconds: float = ABANDONED_OBJECT_SECONDS,
    ) -> int:
        """Delete the month's temporary files whose writer is gone (a killed run's).

        A live local writer holds a lock on its temporary file; the kernel drops it when the
        process dies, even by kill -9, so an unlocked temporary belongs to no one. An object
        store has no locks: there, temporary keys and unfinished multipart uploads older than
        `object_age_seconds` are the abandoned ones.
        """
        path = self.path_for(spec, month)
        if not isinstance(path, Path):
            cutoff = dt.datetime.now().timestamp() - object_age_seconds
            return _remove_old_objects(path, cutoff)
        removed = 0
        for temp in path.parent.glob(f"{path.name}*{_TEMP_MARK}*") if path.parent.is_dir() else []:
            removed += _remove_if_abandoned(temp)
        return removed


def reject(lake_file: LakeFile) -> LakePath:
    """Set aside a file the warehouse refused, so that the raw asset downloads the month again.

    The file is renamed to `<name>.rejected` (kept for inspection, replaced by the next
    rejection) and its manifest deleted: without both, the month is no longer verified.
    """
    path = lake_file.path
    aside = path.with_name(path.name + ".rejected")
    if isinstance(path, Path):
        os.replace(path, path.with_name(aside.name))  # atomic
    else:
        path.rename(aside)  # a copy and a delete (UPath has no replace)
    Lake.manifest_path(lake_file.path).unlink(missing_ok=True)
    return aside


def _remove_if_abandoned(temp: Path) -> int:
    """Delete `temp` if it is a regular file no live writer locks; 1 if deleted.

    Only regular files are opened, and without blocking: a FIFO or device given a temporary's
    name would otherwise hang the open for ever.
    """
    try:
        fd = os.open(temp, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:  # gone, a symlink, or unreadable: not one of ours
        return 0
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return 0
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        temp.unlink(missing_ok=True)  # while locked: see _live_temporary
        return 1
    except BlockingIOError:
        return 0  # a live download is writing it
    finally:
        os.close(fd)


@contextlib.contextmanager
def _disk_errors_named(month: str, path: LakePath) -> Iterator[None]:
    """A full disk or quota names the month and the file, and the way out."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise TaxiError(
            f"{month}: cannot write {path}: {exc.strerror} (the lake's disk or quota is full, "
            "or the file exceeds the size limit); the lake and the warehouse are unchanged: "
            f"free space under {path.parent} and materialize the month again"
        ) from exc


@contextlib.contextmanager
def _temporary(final: LakePath) -> Iterator[tuple[LakePath, BinaryIO]]:
    """A new temporary file or object beside `final`, deleted on the way out."""
    if isinstance(final, Path):
        final.parent.mkdir(parents=True, exist_ok=True)
        with _live_temporary(final) as pair:
            yield pair
        return
    temp = final.with_name(f"{final.name}{_TEMP_MARK}{uuid.uuid4().hex}")
    try:
        with temp.open("wb") as handle:
            yield temp, handle
    finally:
        temp.unlink(missing_ok=True)


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


def _publish(temp: LakePath, handle: BinaryIO, final: LakePath, size: int, where: str) -> None:
    """Give the verified temporary its final name.

    Local: atomic rename and fsync of the folder, while the writer's lock is held. Object
    store: finish the upload, check the stored size, then one server-side copy makes the final
    key appear whole (the caller deletes the temporary key).
    """
    if isinstance(temp, Path) and isinstance(final, Path):
        os.replace(temp, final)
        _fsync_dir(final.parent)
        return
    handle.close()  # completes the (multipart) upload: the temporary key exists from here
    stored = temp.stat().st_size
    if stored != size:
        raise TaxiError(f"{where}: {temp} holds {stored:,} bytes after writing {size:,}")
    temp.fs.copy(temp.path, final.path)  # type: ignore[union-attr]


def _remove_old_objects(path: "UPath", cutoff: float) -> int:
    """Delete `path`'s temporary keys and abort its unfinished uploads begun before `cutoff`."""
    removed = 0
    if path.parent.is_dir():
        for temp in path.parent.glob(f"{path.name}*{_TEMP_MARK}*"):
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)
                removed += 1
    return removed + _abort_old_uploads(path, cutoff)


def _abort_old_uploads(path: "UPath", cutoff: float) -> int:
    """Abort multipart uploads to `path`'s temporary keys begun before `cutoff` (an upload cut
    off midway leaves one: no object, but stored parts). Only S3-compatible stores have them."""
    fs: Any = path.fs
    if not hasattr(fs, "list_multipart_uploads"):
        return 0
    bucket, _, key = str(path.path).partition("/")
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


def _sha256(path: LakePath) -> tuple[str, int]:
    """A file's sha256 and size, read in bounded chunks."""
    sha, size = hashlib.sha256(), 0
    for chunk in read_chunks(path):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
