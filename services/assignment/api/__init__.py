"""Assignment's HTTP routes (thin: parse, authorise, call a use case), one router per
aggregate."""

from __future__ import annotations

from services.assignment.api import (
    experts,
    exports,
    feedback,
    gold,
    items,
    ledger,
    projects,
    qualifications,
    rosters,
    rubrics,
    staffing,
    work,
)

ROUTERS = [
    experts.router,
    rubrics.router,
    projects.router,
    rosters.router,
    staffing.router,
    work.router,
    ledger.router,
    gold.router,
    feedback.router,
    qualifications.router,
    items.router,
    exports.router,
]
