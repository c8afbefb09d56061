"""Quorum's event contracts: every topic, payload model, ``EventSpec`` and vocabulary type.

One module per producing side: :mod:`.media` (ingest), :mod:`.work` (assignment: projects
and the review work on them), :mod:`.taxonomy`, :mod:`.metrics`; :mod:`.vocabulary` holds the
value types several contracts share, :mod:`.spec` what a contract is, and :mod:`.catalog`
the list of them all. Services import these and never one another; nothing here imports
a service or an I/O library.
"""
