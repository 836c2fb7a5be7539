"""The original Nuvom (the ``nuvom`` distribution, 0.x) installs the same ``nuvom`` package and command.

Installed side by side with nuvom-core, the two overwrite each other's files, and uninstalling
either one breaks the other. The check reads installed metadata only (no import of the other).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

#: The distribution name of the original, monolithic Nuvom.
OLD_DISTRIBUTION = "nuvom"


def old_nuvom_installed() -> str | None:
    """One line saying what is wrong and the fix, when the old ``nuvom`` distribution is installed."""
    try:
        old_version = version(OLD_DISTRIBUTION)
    except PackageNotFoundError:
        return None
    return (
        f"the original Nuvom (distribution 'nuvom' {old_version}) is installed too and shares the "
        "'nuvom' package and command with nuvom-core, so their files are mixed; fix: "
        "pip uninstall -y nuvom nuvom-core && pip install nuvom-core"
    )
