"""Reading scans and datasets (SIXray layout or plain folders)."""

from .dataset import Dataset, load_dataset
from .io import IMAGE_SUFFIXES, Scan, ScanMeta, probe_scan, read_scan
from .types import CATEGORIES, BadFile, Box, ScanRecord

__all__ = [
    "CATEGORIES",
    "IMAGE_SUFFIXES",
    "BadFile",
    "Box",
    "Dataset",
    "Scan",
    "ScanMeta",
    "ScanRecord",
    "load_dataset",
    "probe_scan",
    "read_scan",
]
