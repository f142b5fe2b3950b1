"""Where the officers' audit log goes: beside the scans, never inside a read-only or bundled folder."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from app.audit import AUDIT_NAME, AuditLog, audit_path_for
from engine.assets import demo_dir


def _permissions_ignored() -> bool:
    """Root (euid 0) bypasses file permissions, unless its capabilities were dropped: probe, don't guess."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o555)
        try:
            return os.access(d, os.W_OK)
        finally:
            os.chmod(d, 0o755)


as_root = pytest.mark.skipif(_permissions_ignored(), reason="running as root: file permissions are not enforced")


@as_root
def test_read_only_scan_folder_sends_the_log_to_the_user_data_dir(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    scans.chmod(0o555)
    try:
        with caplog.at_level(logging.WARNING, logger="app.audit"):
            path = audit_path_for(scans, tmp_path / "user")
        assert path == tmp_path / "user" / AUDIT_NAME
        assert str(path) in caplog.text and "not writable" in caplog.text  # the officer can find it
        AuditLog(path).append({"decision": "clear"})
        assert not (scans / AUDIT_NAME).exists()
    finally:
        scans.chmod(0o755)


@as_root
def test_read_only_log_file_in_a_writable_folder_is_not_appended_to(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / AUDIT_NAME).write_text("")
    (scans / AUDIT_NAME).chmod(0o444)
    assert audit_path_for(scans, tmp_path / "user") == tmp_path / "user" / AUDIT_NAME


def test_bundled_demo_folder_is_never_written_even_when_writable(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.audit"):
        path = audit_path_for(demo_dir(), tmp_path / "user")
    assert path == tmp_path / "user" / AUDIT_NAME
    assert "part of the bagscan install" in caplog.text and str(path) in caplog.text
    assert audit_path_for(demo_dir() / "JPEGImage", tmp_path / "user") == path  # anywhere inside the assets


def test_assets_override_is_treated_as_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed bundle's assets (here via BAGSCAN_ASSETS) count as read-only whatever their permissions."""
    bundle = tmp_path / "bundle" / "assets"
    (bundle / "demo").mkdir(parents=True)
    monkeypatch.setenv("BAGSCAN_ASSETS", str(bundle))
    assert audit_path_for(bundle / "demo", tmp_path / "user") == tmp_path / "user" / AUDIT_NAME
    other = tmp_path / "site-scans"
    other.mkdir()
    assert audit_path_for(other, tmp_path / "user") == other / AUDIT_NAME


def test_user_data_dir_does_not_depend_on_the_application_name() -> None:
    from app.settings import APP, user_data_dir

    d = user_data_dir()
    assert d.name == APP and d.parent.name != APP
