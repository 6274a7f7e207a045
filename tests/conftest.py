from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailtui.sources.s3 import make_client

from .fakes.cloudtrail import FakeCloudTrail

REAL = Path(__file__).resolve().parent / "data" / "real"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the real home: every trailtui path points into tmp."""
    monkeypatch.setenv("TRAILTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRAILTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TRAILTUI_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated demo cache for the whole session (tests copy it if they write)."""
    from trailtui.sources.demo import ensure_demo_store

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    ensure_demo_store(path).close()
    return path


@pytest.fixture
def demo_store(demo_db: Path) -> Iterator[object]:
    from trailtui.store.store import Store

    s = Store(demo_db)
    yield s
    s.close()


def real_files() -> list[Path]:
    return sorted(
        p for p in REAL.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".gz")
    )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudTrail]:
    ct = FakeCloudTrail(keys={"AKIDA": "111111111111", "AKIDB": "222222222222"})
    url = ct.start()
    creds = tmp_path / "credentials"
    creds.write_text(
        "[acct-a]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n"
        "[acct-b]\naws_access_key_id = AKIDB\naws_secret_access_key = s\n"
        "[default]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n"
    )
    cfg = tmp_path / "config"
    cfg.write_text("[default]\nregion = us-east-1\n")
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", url)  # boto3 resolves it; we don't override
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield ct
    ct.stop()


BUCKET = "trail-bucket"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)  # boto3 resolves it; we don't override
    client = make_client()
    client.create_bucket(Bucket=BUCKET)
    yield client
    objs = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for o in objs:
        client.delete_object(Bucket=BUCKET, Key=o["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def fake_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """tests/fakes/logs.py on a port, real boto3 pointed at it by the environment."""
    from .fakes.logs import FakeLogs

    fl = FakeLogs(keys={"AKIDA": "111111111111", "AKIDB": "222222222222"})
    url = fl.start()
    creds = tmp_path / "credentials"
    creds.write_text(
        "[acct-a]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n"
        "[acct-b]\naws_access_key_id = AKIDB\naws_secret_access_key = s\n"
        "[default]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n"
    )
    cfg = tmp_path / "config"
    cfg.write_text("[default]\nregion = us-east-1\n")
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)  # boto3 resolves it
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield fl
    fl.stop()
