"""Which loans are a class corner's, for the lists that show loans by class.

A corner's books are lent under its teacher (``loan.corner`` names the corner); the
overdue list, ``kiosk report out`` and the term report show them under the class
whose corner holds them, not under the teacher's (often empty) class.
"""

from __future__ import annotations

from typing import Any

from kiosk.data.core.models import ClassCorner, Loan, SchoolClass


def corner_classes(where: Any) -> dict[str, str]:
    """Loan id -> the class whose corner holds the book, for the corner loans ``where``
    selects (a condition on ``Loan``). Read-only; call with a connection."""
    query = (
        Loan.select(Loan.id, SchoolClass.name)
        .join(ClassCorner, on=Loan.corner == ClassCorner.id)
        .join(SchoolClass, on=ClassCorner.school_class == SchoolClass.id)
        .where(where & Loan.corner.is_null(False))
        .tuples()
    )
    return {loan_id: name for loan_id, name in query}
