"""Test helpers shared by every app's tests."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(binary: str, *, package: str) -> str:
    """The path of a system tool a test needs. Outside CI a missing tool skips the test with
    what to install; in CI (CI=true) it fails, because CI installs it (see .ci/run)."""
    path = shutil.which(binary) or (binary if os.path.isabs(binary) and os.path.exists(binary)
                                    else None)
    if path:
        return path
    message = f"{binary} is missing: install the Debian package {package!r} (apt-get install {package})"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")
