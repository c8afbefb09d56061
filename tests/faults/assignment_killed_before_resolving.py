"""``python -m tests.faults.assignment_killed_before_resolving``: the assignment service, as
``python -m services.assignment`` runs it, except that the process kills itself (SIGKILL)
where it would take the step after a stored judgment (``Resolutions.after_judgment``, called
right after the judgment's write, and again for the judgment consumed from the topic). So it
dies between a judgment's write and the item's resolution by construction, whatever the
timing, and resolves nothing."""

from __future__ import annotations

import os
import signal

from services.assignment.app import create_app
from services.assignment.handlers.resolutions import Resolutions
from services.assignment.models.work import WorkItem
from services.assignment.settings import AssignmentSettings
from shared.serve import serve


async def killed(self: Resolutions, item: WorkItem) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    Resolutions.after_judgment = killed  # type: ignore[method-assign]
    serve(create_app, AssignmentSettings)
