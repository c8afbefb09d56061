"""How much work an item gets, free of I/O: the overlap policy, the agreement sample, dynamic
overlap, and the injection of gold units.

Every choice is a pure function of its inputs and of :func:`draw`, a stable hash keyed by the
project's secret (``stores/secrets.py``: generated once, stored, never in a response or an
event): a replay of the same events, or another replica, makes the same plan, and nobody who
lacks the key can tell from the ids they see which units will be gold, audited or sampled.

* An item is in the agreement sample when ``draw(key, item_id, revision, "iaa") < iaa_share``;
  it then needs ``k_iaa`` distinct experts at first, else ``k``.
* Dynamic overlap: when the judgments in disagree, one more unit at a time, up to ``k_max``.
* Gold: an expert's gold units track ``gold_rate`` times the units they were served, within
  one unit at every point, at places a per-expert draw makes irregular (so gold is not every
  tenth unit at a rate of 0.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fractions import Fraction

from shared.errors import FieldError

#: The most distinct experts an item may need (``ProjectChangedV1.overlap`` has the same bound).
MAX_OVERLAP = 50
#: The separator of the hashed fields: ids (``Id``) never hold control characters.
_SEP = "\x1f"


@dataclass(frozen=True)
class OverlapPolicy:
    """A project's overlap and gold policy (see the module)."""

    k: int = 1
    iaa_share: float = 0.0
    k_iaa: int = 1
    dynamic: bool = False
    k_max: int = 1
    gold_rate: float = 0.0


def _err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def _count_errors(name: str, value: int, low: int, low_text: str, at: str) -> list[FieldError]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [_err(f"{at}.{name}", "must be a whole number")]
    if value < low:
        return [_err(f"{at}.{name}", f"must be at least {low_text}")]
    if value > MAX_OVERLAP:
        return [_err(f"{at}.{name}", f"must be at most {MAX_OVERLAP}")]
    return []


def _share_errors(name: str, value: float, at: str) -> list[FieldError]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        return [_err(f"{at}.{name}", "must be a number from 0 to 1")]
    return []


def policy_errors(policy: OverlapPolicy, where: str = "overlap") -> list[FieldError]:
    """Every problem of the policy, each at ``where.<field>``."""
    errors = _count_errors("k", policy.k, 1, "1", where)
    k_ok = not errors
    errors += _share_errors("iaa_share", policy.iaa_share, where)
    low = policy.k if k_ok else 1
    text = f"k ({policy.k})" if k_ok else "1"
    errors += _count_errors("k_iaa", policy.k_iaa, low, text, where)
    errors += _count_errors("k_max", policy.k_max, low, text, where)
    if not isinstance(policy.dynamic, bool):
        errors.append(_err(f"{where}.dynamic", "must be true or false"))
    errors += _share_errors("gold_rate", policy.gold_rate, where)
    return errors


#: The longest key :func:`draw` takes (BLAKE2b's).
MAX_KEY_BYTES = 64


def draw(key: bytes, item_id: str, revision: int, purpose: str) -> float:
    """A number in [0, 1) that depends only on the four: the first 53 bits of their BLAKE2b
    hash keyed with ``key`` (a MAC: without the key the draw cannot be computed). Stable across
    processes, replicas and Python versions (unlike ``hash``)."""
    if len(key) > MAX_KEY_BYTES:
        raise ValueError(f"a draw key has at most {MAX_KEY_BYTES} bytes, not {len(key)}")
    data = _SEP.join((purpose, str(revision), item_id)).encode()
    digest = hashlib.blake2b(data, digest_size=8, key=key).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


@dataclass(frozen=True)
class ItemPlan:
    """What an item gets at first: ``needed`` distinct experts; ``in_agreement_sample``."""

    item_id: str
    revision: int
    in_agreement_sample: bool
    needed: int


def plan(key: bytes, item_id: str, revision: int, policy: OverlapPolicy) -> ItemPlan:
    """The item's first units under the policy of project revision ``revision``."""
    sampled = draw(key, item_id, revision, "iaa") < policy.iaa_share
    return ItemPlan(
        item_id=item_id,
        revision=revision,
        in_agreement_sample=sampled,
        needed=policy.k_iaa if sampled else policy.k,
    )


def needs_more(plan: ItemPlan, judgments_in: int, agreed: bool, policy: OverlapPolicy) -> bool:
    """Whether the item gets one more unit now that ``judgments_in`` judgments are in: only
    under dynamic overlap, once the planned ones are all in, while they disagree, and never
    past ``k_max`` (an item of the agreement sample planned beyond it gets none). Asked again
    after each new judgment, it adds one unit at a time."""
    if not policy.dynamic or agreed:
        return False
    if judgments_in < plan.needed:
        return False
    return judgments_in < policy.k_max


def gold_phase(key: bytes, expert_id: str, project_id: str, served: int) -> float:
    """The per-expert draw :func:`gold_due` takes: where in [0, 1) the next gold unit falls."""
    return draw(key, expert_id, served, f"gold{_SEP}{project_id}")


def gold_due(served: int, gold_served: int, gold_rate: float, phase: float = 0.0) -> bool:
    """Whether the expert's next unit in a project is gold, given the units the project served
    them (gold included) and the gold units among them: gold when
    ``gold_served < gold_rate * (served + 1) - phase``, with ``phase`` in [0, 1).

    Whatever the phases, ``|gold_served - gold_rate * served| < 1`` after every unit (so the
    share converges to the rate). With phase 0, gold comes as early as the rate allows; the
    service passes :func:`gold_phase` so its places are irregular. When no gold item is left
    for the expert (:func:`pick_gold` gives None) an ordinary unit is served and gold stays
    due."""
    if not 0 <= phase < 1:
        raise ValueError(f"the phase is in [0, 1), not {phase}")
    # exactly, not in floating point: the bound of one unit holds at any rate and count
    return gold_served < Fraction(gold_rate) * (served + 1) - Fraction(phase)


def audit_draw(key: bytes, item_id: str) -> float:
    """The draw that decides whether a consensus is audited (``consensus.decide``)."""
    return draw(key, item_id, 0, "audit")


def pick_gold(
    key: bytes, gold_item_ids: Iterable[str], seen_by_expert: Collection[str], expert_id: str = ""
) -> str | None:
    """A gold item the expert has not seen (judged or leased), or None when none is left. The
    order is a draw per expert, so experts do not all get the same gold item first."""
    unseen = [g for g in gold_item_ids if g not in seen_by_expert]
    if not unseen:
        return None
    return min(unseen, key=lambda g: (draw(key, g, 0, f"gold-order{_SEP}{expert_id}"), g))
