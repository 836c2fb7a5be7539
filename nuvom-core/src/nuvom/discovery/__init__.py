"""Find ``@task`` functions in a project by reading its source, and remember them in a manifest."""

from .ignore import IGNORE_FILE as IGNORE_FILE
from .ignore import IgnoreRules as IgnoreRules
from .manifest import MANIFEST_FILE as MANIFEST_FILE
from .manifest import MANIFEST_VERSION as MANIFEST_VERSION
from .manifest import DiscoveredTask as DiscoveredTask
from .manifest import FileEntry as FileEntry
from .manifest import Manifest as Manifest
from .manifest import ManifestDiff as ManifestDiff
from .manifest import ScanError as ScanError
from .manifest import diff as diff
from .scanner import ScanResult as ScanResult
from .scanner import scan as scan

__all__ = [
    "IGNORE_FILE",
    "MANIFEST_FILE",
    "MANIFEST_VERSION",
    "DiscoveredTask",
    "FileEntry",
    "IgnoreRules",
    "Manifest",
    "ManifestDiff",
    "ScanError",
    "ScanResult",
    "diff",
    "scan",
]
