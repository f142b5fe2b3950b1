from pathlib import Path

import numpy as np
import pytest

from engine.data.io import read_scan
from engine.errors import ScanReadError, ScanTooLargeError
from tests.conftest import fake_bag, write_rgb


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".tif"])
def test_reads_each_format_as_float_rgb(tmp_path: Path, suffix: str) -> None:
    rgb = fake_bag(seed=5)
    path = write_rgb(tmp_path / f"scan{suffix}", rgb)
    scan = read_scan(path)
    assert scan.pixels.dtype == np.float32 and scan.pixels.shape == (300, 400, 3)
    assert 0.0 <= scan.pixels.min() and scan.pixels.max() <= 1.0
    assert scan.meta.width == 400 and scan.meta.height == 300 and scan.meta.bit_depth == 8
    tol = 0.08 if suffix == ".jpg" else 1e-6  # JPEG is lossy
    assert np.abs(scan.pixels * 255 - rgb).mean() < tol * 255
    # RGB order: the bag's orange has red > blue
    assert scan.pixels[150, 70, 0] > scan.pixels[150, 70, 2]


def test_sixteen_bit_and_grey(mixed_folder: Path) -> None:
    deep = read_scan(mixed_folder / "deep16.png")
    assert deep.meta.bit_depth == 16 and deep.pixels.max() <= 1.0
    grey = read_scan(mixed_folder / "grey.png")
    assert grey.meta.channels == 1 and grey.pixels.shape[2] == 3
    assert np.allclose(grey.pixels[..., 0], grey.pixels[..., 2])


@pytest.mark.parametrize(
    ("name", "reason"),
    [("truncated.jpg", "truncated"), ("notes.jpg", "not a recognised image")],
)
def test_bad_files_raise_naming_file(mixed_folder: Path, name: str, reason: str) -> None:
    with pytest.raises(ScanReadError) as err:
        read_scan(mixed_folder / name)
    assert name in str(err.value) and reason in err.value.reason


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ScanReadError, match="empty file"):
        read_scan(tmp_path / "empty.png")
    with pytest.raises(ScanReadError, match="no such file"):
        read_scan(tmp_path / "missing.png")


def test_corrupt_body_is_refused(tmp_path: Path) -> None:
    data = bytearray(write_rgb(tmp_path / "a.png", fake_bag()).read_bytes())
    data[100:400] = b"\x00" * 300  # corrupt the compressed stream but keep IEND
    (tmp_path / "b.png").write_bytes(bytes(data))
    with pytest.raises(ScanReadError, match="b.png"):
        read_scan(tmp_path / "b.png")


def test_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    # A valid PNG header claiming 10000x10000: refused from the header alone.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 10000, 10000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    png += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    (tmp_path / "huge.png").write_bytes(png)
    with pytest.raises(ScanTooLargeError, match="10000x10000"):
        read_scan(tmp_path / "huge.png")


def test_hash_is_content_hash(tmp_path: Path) -> None:
    a = write_rgb(tmp_path / "a.png", fake_bag(seed=1))
    b = tmp_path / "b.png"
    b.write_bytes(a.read_bytes())
    assert read_scan(a).meta.sha256 == read_scan(b).meta.sha256
    assert read_scan(a).meta.sha256 != read_scan(write_rgb(tmp_path / "c.png", fake_bag(seed=2))).meta.sha256
