"""Demo data for the dashboards: DfE's published benchmarks, when the reference folder is there."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from .benchmarks import figures_import
from .models import DfePublishedFigure


def demo_benchmarks() -> int:
    """Imports DfE's year-to-date file once; 0 when it is missing or already loaded."""
    path = Path(settings.SHARED_DIR) / "data" / "dfe" / "attendance-ytd-2025-26.csv"
    if DfePublishedFigure.objects.exists() or not path.is_file():
        return 0
    return figures_import(path=path)
