"""Dataset folders: scanning, fingerprints, decoding, caching, splits and batches."""

from .dataset import PreparedDataset, prepare_dataset
from .folder import FolderScan, scan_folder
from .summary import DatasetSummary

__all__ = ["DatasetSummary", "FolderScan", "PreparedDataset", "prepare_dataset", "scan_folder"]
