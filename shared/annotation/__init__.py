"""Measures on labels, free of I/O, for every service that compares or exports them: COCO RLE
masks (:mod:`.rle`), areas and IoU of boxes, polygons and masks (:mod:`.geometry`), time
segments (:mod:`.temporal`) and the optimal one-to-one matching of two sets of labels
(:mod:`.matching`).

Assignment's consensus and gold scoring, metrics' agreement figures and ingest's COCO export
all use these, so a figure on a dashboard and the one adjudication used come from one
implementation. The package imports only ``shared.contracts`` and ``shared.errors``.
"""

from __future__ import annotations

#: Slack in comparisons of measured values (IoU, seconds) with thresholds: float rounding
#: (``1.3 - 1.0 > 0.3``) never decides a match.
EPSILON = 1e-9
