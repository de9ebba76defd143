"""Streaming a file from the mirror (https or file://), failures sorted: transient or terminal.

Each attempt starts again from the original URL, so a retry never reuses an expired signed
redirect target.
"""

import contextlib
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

from taxi_assets.mechanics.errors import NotPublishedError, TaxiError, TransientError
from taxi_assets.mechanics.publication import FileVersion
from taxi_assets.mechanics.verifier import CHUNK_BYTES, read_chunks

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
# How a month not yet published answers: the mirror (GitHub) 404, the TLC's CloudFront 403.
MIRROR_UNPUBLISHED = {404: "HTTP 404"}
TLC_UNPUBLISHED = {
    404: "HTTP 404",
    403: "HTTP 403: the TLC publishes a month 47-62 days after it ends",
}
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
)


def file_url(base_url: str, relative: str) -> str:
    """Join the release-tree base and a relative file path."""
    return f"{base_url.rstrip('/')}/{relative}"


@dataclass(frozen=True)
class Download:
    """A file's bytes as they arrive, and which published version of it they are."""

    chunks: Iterator[bytes]
    version: FileVersion

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


@contextlib.contextmanager
def open_stream(
    url: str,
    month: str,
    timeout: tuple[float, float],
    unpublished: dict[int, str] = MIRROR_UNPUBLISHED,
) -> Iterator[Download]:
    """Yield the download of `url`; raise NotPublished, Taxi or Transient (NotPublished for
    the statuses in `unpublished`, with their explanation)."""
    if (path := _local_path(url)) is not None:
        if not path.is_file():
            raise NotPublishedError(f"{month} is not published at {url} (no such file)")
        yield Download(read_chunks(path), FileVersion.of_path(path))
        return
    try:
        response = requests.get(url, stream=True, timeout=timeout)
    except _NETWORK_ERRORS as exc:
        raise TransientError(f"{month}: cannot reach {url}: {exc}") from exc
    with response:
        _check_status(response, url, month, unpublished)
        yield Download(_body(response, url, month), FileVersion.from_headers(response.headers))


def probe(url: str, what: str, timeout: tuple[float, float]) -> FileVersion | None:
    """The version `url` publishes now (a HEAD request, redirects followed), None when it is not
    published yet (TLC_UNPUBLISHED: 403 or 404); TransientError when the source cannot be
    reached or errs."""
    if (path := _local_path(url)) is not None:
        return FileVersion.of_path(path) if path.is_file() else None
    try:
        response = requests.head(url, timeout=timeout, allow_redirects=True)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"{what}: cannot reach {url}: {exc}") from exc
    try:
        _check_status(response, url, what, TLC_UNPUBLISHED)
    except NotPublishedError:
        return None
    return FileVersion.from_headers(response.headers)


def _local_path(url: str) -> Path | None:
    """The file a file:// URL names, None for any other URL."""
    if not url.startswith("file://"):
        return None
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))


def _check_status(
    response: requests.Response, url: str, what: str, unpublished: dict[int, str]
) -> None:
    """Raise NotPublished for the statuses in `unpublished`, Transient for a transient one,
    Taxi for any other but 200; `what` (the month) begins the message."""
    status = response.status_code
    if status in unpublished:
        raise NotPublishedError(f"{what} is not published at {url} ({unpublished[status]})")
    if status in _TRANSIENT_STATUS:
        raise TransientError(f"{what}: {url} answered HTTP {status}")
    if status != 200:
        raise TaxiError(f"{what}: {url} answered HTTP {status} {response.reason}")


def _body(response: requests.Response, url: str, month: str) -> Iterator[bytes]:
    """The body exactly as sent (no transfer decoding), checked against Content-Length."""
    expected = response.headers.get("Content-Length")
    received = 0
    try:
        for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
            received += len(chunk)
            yield chunk
    except _NETWORK_ERRORS as exc:
        raise TransientError(f"{month}: download of {url} broke off: {exc}") from exc
    if expected is not None and received != int(expected):
        raise TransientError(
            f"{month}: download of {url} ended after {received:,} of {int(expected):,} bytes"
        )
