"""Fixtures for the scale-out tests: the loopback S3-compatible store and a bucket per test.

Every test module in this folder sees them.
"""

import uuid
from collections.abc import Iterator

import pytest

from taxi_testkit.objectstore import aws_env, serve_object_store


@pytest.fixture(scope="session")
def object_store() -> Iterator[str]:
    """moto's standalone server on loopback for the whole session (in memory, about 4 s)."""
    with serve_object_store() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(object_store: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The standard AWS variables pointing at the loopback store, for this test only."""
    env = aws_env(object_store)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_bucket(s3_env: dict[str, str]) -> Iterator[str]:
    """A bucket of its own, emptied and deleted afterwards."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    name = f"lake-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    try:
        yield name
    finally:
        fs.rm(name, recursive=True)


@pytest.fixture
def s3_lake(s3_bucket: str) -> str:
    """The lake root as users write it: s3://bucket/prefix."""
    return f"s3://{s3_bucket}/lake"
