"""Audit the image's lock file with pip-audit: fail on a known vulnerability that has a fix.

pip-audit looks each pinned release up in a vulnerability service (PyPI's JSON API by
default). Where that service cannot be reached it marks every dependency "could not be
audited" and still exits 0; this wrapper says so in one line and skips instead of passing
silently. A partial answer (some releases looked up, others not) fails: an incomplete audit is
not a pass.

    python docker/audit_lock.py docker/requirements.lock
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

AUDIT_TIMEOUT_S = 600
SKIPPED = 0
PASSED = 0
FAILED = 1


def verdict(report: dict[str, Any]) -> tuple[int, str]:
    """Return the exit code and the one-line outcome of a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    if not deps:
        return FAILED, "pip-audit: the lock lists no dependencies"
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    if len(skipped) == len(deps):
        return SKIPPED, (
            f"pip-audit: SKIPPED, the vulnerability service could not be reached "
            f"(none of {len(deps)} pinned releases could be looked up)"
        )
    fixable = [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
        for d in deps
        for v in d.get("vulns", [])
        if v.get("fix_versions")
    ]
    if fixable:
        return FAILED, "pip-audit: vulnerabilities with a fix: " + "; ".join(fixable)
    if skipped:
        return FAILED, f"pip-audit: incomplete, could not look up {', '.join(skipped)}"
    unfixed = sum(len(d.get("vulns", [])) for d in deps)
    return PASSED, (
        f"pip-audit: {len(deps)} releases audited, no vulnerability with a fix"
        + (f" ({unfixed} known without a fix)" if unfixed else "")
    )


def main(argv: list[str]) -> int:
    """Run pip-audit on the lock file named in ``argv`` and print the verdict."""
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: audit_lock.py LOCK_FILE", file=sys.stderr)
        return 2
    pip_audit = Path(sys.executable).with_name("pip-audit")
    cmd = [str(pip_audit), "-r", argv[0], "--disable-pip", "--require-hashes",
           "--progress-spinner", "off", "--format", "json"]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"pip-audit: SKIPPED, no answer within {AUDIT_TIMEOUT_S} s")
        return SKIPPED
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit: failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        return FAILED
    code, line = verdict(report)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
