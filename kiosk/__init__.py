"""Library Kiosk: a self-service borrowing and returning terminal for school libraries."""

from __future__ import annotations

__version__ = "0.1.0"
