"""docker/audit_lock.py decides what a pip-audit report means: never a silent pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_lock", ROOT / "docker" / "audit_lock.py")
assert _spec is not None
assert _spec.loader is not None
audit_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_lock)


def _dep(name: str, vulns: list[dict[str, Any]] | None = None, skip: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "version": "1.0"}
    if skip:
        d["skip_reason"] = skip
    else:
        d["vulns"] = vulns or []
    return d


def test_unreachable_service_skips_and_says_so() -> None:
    report = {"dependencies": [_dep("a", skip="not found on PyPI"), _dep("b", skip="x")]}
    code, line = audit_lock.verdict(report)
    assert code == 0
    assert "SKIPPED" in line
    assert "could not be reached" in line
    assert "\n" not in line


def test_a_fixable_vulnerability_fails() -> None:
    vuln = {"id": "PYSEC-1", "fix_versions": ["1.1"]}
    code, line = audit_lock.verdict({"dependencies": [_dep("a", [vuln]), _dep("b")]})
    assert code == 1
    assert "a 1.0: PYSEC-1 (fixed in 1.1)" in line


def test_unfixed_vulnerability_is_reported_not_failed() -> None:
    vuln = {"id": "GHSA-x", "fix_versions": []}
    code, line = audit_lock.verdict({"dependencies": [_dep("a", [vuln])]})
    assert code == 0
    assert "1 known without a fix" in line


def test_partial_lookup_is_not_a_pass() -> None:
    code, line = audit_lock.verdict({"dependencies": [_dep("a"), _dep("b", skip="timeout")]})
    assert code == 1
    assert "incomplete" in line
    assert "b" in line


def test_clean_audit_passes() -> None:
    code, line = audit_lock.verdict({"dependencies": [_dep("a"), _dep("b")]})
    assert code == 0
    assert "2 releases audited" in line
