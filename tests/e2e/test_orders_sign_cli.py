"""``tickbot sign``: the documented vectors reproduce through the CLI, secrets never print,
missing credentials are a one-line error (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.cli import main
from tests.support.order_samples import sample_json

PASSPHRASE = "canary-passphrase-77"


def _sign(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    secret: str,
    *args: str,
) -> dict:
    monkeypatch.setenv("TICKBOT_API_KEY", key)
    monkeypatch.setenv("TICKBOT_API_SECRET", secret)
    monkeypatch.setenv("TICKBOT_API_PASSPHRASE", PASSPHRASE)
    assert main(["sign", *args]) == 0
    out = capsys.readouterr().out
    assert secret not in out
    assert PASSPHRASE not in out
    return json.loads(out)


def test_binance_vector(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = sample_json("binance_usdm", "signature_vectors.json")
    v = doc["vectors"][0]
    out = _sign(
        capsys,
        monkeypatch,
        doc["apiKey"],
        doc["secretKey"],
        "--venue",
        "binance-usdm",
        "--method",
        "POST",
        "--path",
        v["path"],
        "--query",
        v["queryString"],
        "--timestamp",
        "1591702613943",
    )
    assert out["signature"] == v["expected_signature"]
    assert out["url"].endswith(
        f"{v['path']}?{v['queryString']}&signature={v['expected_signature']}"
    )
    assert out["headers"] == {"X-MBX-APIKEY": doc["apiKey"]}


def test_bingx_mixed_vector(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = sample_json("bingx_swap", "signature_vectors.json")
    v = doc["vectors"][1]
    out = _sign(
        capsys,
        monkeypatch,
        doc["apiKey"],
        doc["secretKey"],
        "--venue",
        "bingx",
        "--method",
        "POST",
        "--path",
        v["path"],
        "--query",
        v["queryString"],
        "--body",
        v["requestBody"],
        "--timestamp",
        "1668159715051",
    )
    assert out["signature"] == v["expected_signature"]


def test_bitmex_vectors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = sample_json("bitmex", "signature_vectors.json")
    for v in doc["vectors"][:3]:
        path, _, query = v["path"].partition("?")
        args = [
            "--venue",
            "bitmex",
            "--method",
            v["verb"],
            "--path",
            path,
            "--timestamp",
            str(v["expires"] * 1000),
        ]
        if query:
            args += ["--query", query]
        if v["data"]:
            args += ["--body", v["data"]]
        out = _sign(capsys, monkeypatch, doc["apiKey"], doc["apiSecret"], *args)
        assert out["signature"] == v["expected_signature"]
        assert out["headers"]["api-expires"] == str(v["expires"])


def test_okx_masks_the_passphrase(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _sign(
        capsys,
        monkeypatch,
        "k1",
        "canary-secret-okx",
        "--venue",
        "okx",
        "--method",
        "GET",
        "--path",
        "/api/v5/account/balance",
        "--query",
        "ccy=USDT",
        "--timestamp",
        "1688472289584",
    )
    assert out["headers"]["OK-ACCESS-TIMESTAMP"] == "2023-07-04T12:04:49.584Z"
    assert out["headers"]["OK-ACCESS-PASSPHRASE"] == "***"
    assert out["headers"]["x-simulated-trading"] == "1"


def test_missing_credentials_exit_2_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKBOT_API")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "sign",
            "--venue",
            "okx",
            "--method",
            "GET",
            "--path",
            "/x",
            "--timestamp",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TICKBOT_API_KEY" in lines[0]
    assert "TICKBOT_API_PASSPHRASE" in lines[0]
    assert "Traceback" not in proc.stderr
