"""Withdrawals: work handed out to an expert who no longer stands for it (see
``services/assignment/standing.py``), released when their standing changes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.assignment.standing import Withdrawal


class WithdrawalIntent(BaseModel):
    """A change of standing whose leases are to be withdrawn: recorded before the change is
    written, settled after it (and again by the sweep, then forgotten). Its scope: the
    expert's leases (``expert_id``), of one project only if ``project_id`` is set too; or
    every lease of the project (``project_id`` alone)."""

    intent_id: str
    tenant: str
    expert_id: str | None = None
    project_id: str | None = None
    #: the change, for the log (settling reads the standing as it is, whatever this says)
    change: str
    at: datetime


class WithdrawnLease(BaseModel):
    """A lease released because its expert no longer stood for its work, and why: a
    heartbeat, release or submission on it is told so until ``until``."""

    lease_id: str
    expert_id: str
    project_id: str
    why: Withdrawal
    at: datetime
    until: datetime
