"""``make demo``: five review programs run through the four services by a simulator that
knows the truths the system should recover (``__main__``); its API client (``api``), the
simulated experts (``crowd``), what every program shares (``program``), the programs
(``scenarios/``), the summary (``summary``), and the real media it generates and can serve
(``media``, ``media_server`` and the waveforms it computes, ``peaks``)."""
