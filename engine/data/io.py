"""Scan files to arrays, with every failure turned into a ScanReadError.

The one array type: ``Scan.pixels`` is float32, H x W x 3, RGB channel order,
values in [0, 1] (8-bit inputs divided by 255, 16-bit by 65535). Greyscale
files are replicated to three channels so every model sees one layout;
``ScanMeta.channels`` keeps what the file held.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import imagesize
import numpy as np
import simplejpeg

from ..errors import ScanReadError, ScanTooLargeError
from ..fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
#: Refuse scans above this many pixels (float32 RGB costs 12 bytes a pixel).
DEFAULT_MAX_PIXELS = int(os.environ.get("BAGSCAN_MAX_PIXELS", 64_000_000))


@dataclass(frozen=True)
class ScanMeta:
    path: str
    width: int
    height: int
    channels: int
    bit_depth: int
    sha256: str


@dataclass(frozen=True)
class Scan:
    pixels: np.ndarray
    meta: ScanMeta

    @property
    def name(self) -> str:
        return Path(self.meta.path).stem


def _check_trailer(path: Path, data: bytes) -> None:
    """Detect truncation that decoders silently pad over (libjpeg fills grey)."""
    head = data[:8]
    if head[:2] == b"\xff\xd8":
        if b"\xff\xd9" not in data[-64:]:
            raise ScanReadError(path, "truncated JPEG (no end-of-image marker)")
    elif head == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-32:]:
            raise ScanReadError(path, "truncated PNG (no IEND chunk)")


def _unreadable(p: Path, exc: OSError) -> ScanReadError:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ScanReadError(p, "permission denied (the file is not readable)")
    if exc.errno == errno.EISDIR:
        return ScanReadError(p, "a folder, not an image file")
    return ScanReadError(p, f"cannot read: {exc.strerror or exc}")


def probe_scan(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Cheap validity check without decoding: header size and trailer. Returns (width, height)."""
    p = Path(path)
    if p.is_dir():
        raise ScanReadError(p, "a folder, not an image file")
    if not p.is_file():
        raise ScanReadError(p, "no such file")
    try:
        with open(p, "rb") as fh:  # before imagesize, which reports an unreadable file as "not an image"
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            fh.seek(max(0, size - 64))
            tail = fh.read()
    except OSError as exc:
        raise _unreadable(p, exc) from exc
    if size == 0:
        raise ScanReadError(p, "empty file")
    try:
        w, h = imagesize.get(str(p))
    except Exception as exc:  # imagesize raises on some malformed headers
        raise ScanReadError(p, f"unreadable image header ({exc})") from exc
    if w <= 0 or h <= 0:
        raise ScanReadError(p, "not a recognised image (JPEG, PNG, BMP or TIFF)")
    if w * h > max_pixels:
        raise ScanTooLargeError(
            p, f"{w}x{h} = {w * h / 1e6:.0f} MP exceeds the limit of {max_pixels / 1e6:.0f} MP "
            "(set BAGSCAN_MAX_PIXELS to raise it)"
        )
    _check_trailer(p, head + tail)  # a small file's tail overlaps its head: the check still sees its end
    return int(w), int(h)


def _decode_jpeg(p: Path, data: bytes) -> np.ndarray | None:
    """Decode with libjpeg-turbo in strict mode, so damage libjpeg would only warn about (and fill with
    grey) is an error; None leaves the file to OpenCV (colour spaces libjpeg-turbo does not convert)."""
    try:
        grey = simplejpeg.decode_jpeg_header(data)[2] == "Gray"
    except ValueError:
        return None
    space = "GRAY" if grey else "BGR"
    try:
        img = simplejpeg.decode_jpeg(data, colorspace=space, strict=True)
    except ValueError as exc:
        try:
            simplejpeg.decode_jpeg(data, colorspace=space, strict=False)
        except ValueError:
            return None
        raise ScanReadError(p, f"damaged JPEG ({exc})") from exc
    return img[:, :, 0] if grey else img


def read_scan(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Scan:
    """Decode a scan file; never returns garbage, raises ScanReadError instead."""
    p = Path(path)
    probe_scan(p, max_pixels)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _unreadable(p, exc) from exc
    _check_trailer(p, data)
    img = _decode_jpeg(p, data) if data[:2] == b"\xff\xd8" else None
    if img is None:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None or img.size == 0:
        raise ScanReadError(p, "corrupt image data (decoder failed)")
    if img.dtype == np.uint8:
        depth, scale = 8, 255.0
    elif img.dtype == np.uint16:
        depth, scale = 16, 65535.0
    else:
        raise ScanReadError(p, f"unsupported sample type {img.dtype}")
    if img.ndim == 2:
        channels = 1
        rgb = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 1:
        channels = 1
        rgb = np.repeat(img, 3, axis=2)
    elif img.shape[2] in (3, 4):
        channels = 3
        rgb = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB)
    else:
        raise ScanReadError(p, f"unsupported channel count {img.shape[2]}")
    pixels = rgb.astype(np.float32) / np.float32(scale)
    meta = ScanMeta(
        path=str(p),
        width=int(img.shape[1]),
        height=int(img.shape[0]),
        channels=channels,
        bit_depth=depth,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return Scan(pixels=np.ascontiguousarray(pixels), meta=meta)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float [0, 1] RGB to uint8 RGB, for display and JPEG writing."""
    return np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8)


def write_image(path: str | Path, rgb: np.ndarray, quality: int = 92) -> None:
    """Write uint8 RGB (or float [0, 1]) to JPEG/PNG, atomically."""
    p = Path(path)
    arr = to_uint8(rgb) if rgb.dtype != np.uint8 else rgb
    bgr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR) if arr.ndim == 3 else arr
    ok, enc = cv2.imencode(p.suffix.lower() or ".png", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ScanReadError(p, "could not encode image")
    atomic_write_bytes(p, enc.tobytes())
