"""Incremental agreement statistics on categorical and ordinal / interval / ratio ratings.

Pure (no I/O): :class:`AgreementState` keeps the sufficient statistics of one field and takes
one judgment at a time; :func:`figures` computes every figure from it on read;
:func:`field_agreement` does both in batch for a list of judgments. Definitions, references
and intervals: ``figures``' module docstring and docs/metrics.md.
"""

from services.metrics.agreement.batch import field_agreement
from services.metrics.agreement.figures import (
    BOOTSTRAP_REPLICATES,
    BOOTSTRAP_SEED,
    Estimate,
    cohen_kappa,
    figures,
    fleiss_kappa,
    gwet_ac,
    krippendorff_alpha,
    pair_tables,
    percent_agreement,
    wilson,
)
from services.metrics.agreement.scale import Level, Scale, Value, gwet_weights
from services.metrics.agreement.state import AgreementState, Judgment, Tally

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "AgreementState",
    "Estimate",
    "Judgment",
    "Level",
    "Scale",
    "Tally",
    "Value",
    "cohen_kappa",
    "field_agreement",
    "figures",
    "fleiss_kappa",
    "gwet_ac",
    "gwet_weights",
    "krippendorff_alpha",
    "pair_tables",
    "percent_agreement",
    "wilson",
]
