"""What the mapping audit reports: findings with a severity and a fix.

Severities: error (the sync fails or writes wrong values for every record the field touches),
warning (some records may fail or lose data, or the setup drifted), info (worth knowing; a
failing record would go to the error queue, nothing else breaks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["info", "warning", "error"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One problem with a mapping (or with the provisioned fields), and how to fix it."""

    pair: str
    kind: str
    severity: Severity
    entry: str
    side: str
    object_name: str
    field: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        """The finding for --json and --csv."""
        return asdict(self)


def worst(findings: Sequence[Finding]) -> Severity | None:
    """The highest severity among the findings."""
    levels = [SEVERITIES.index(f.severity) for f in findings]
    return SEVERITIES[max(levels)] if levels else None
