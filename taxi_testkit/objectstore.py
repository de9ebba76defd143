"""An S3-compatible object store on loopback (moto's standalone server), for tests and the bench.

    with serve_object_store() as endpoint:   # http://127.0.0.1:PORT
        ...

Everything lives in the server's memory and is gone when it stops. Clients reach it through the
standard variables from `aws_env(endpoint)`; nothing in taxi_assets knows it is a test server.
"""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

_READY_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aws_env(endpoint: str) -> dict[str, str]:
    """The standard AWS variables that point boto3, s3fs and universal-pathlib at `endpoint`."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


@contextlib.contextmanager
def serve_object_store() -> Iterator[str]:
    """Start `moto_server` on a free loopback port; yield its endpoint; stop it afterwards."""
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(endpoint, process)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(endpoint: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode} before {endpoint}")
        try:
            urllib.request.urlopen(endpoint, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer at {endpoint} within {_READY_SECONDS:.0f}s")
