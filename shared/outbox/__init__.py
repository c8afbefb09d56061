"""The transactional outbox, without multi-document transactions.

A state change and the events it causes are written in ONE MongoDB document
write: the encoded events are pushed into the changed document's ``_outbox``
array by the same ``insert_one`` / ``update_one`` / ``find_one_and_update``
that changes the state. Single-document writes are atomic on every MongoDB
deployment (and on the local MongoDB-compatible server), so there is no state
change without its event and no event without its state change.

Writing: :mod:`.entries`. The relay (:mod:`.relay`) publishes pending events in the order they were
written, waits for the broker's acknowledgement, and only then removes them
from their documents. A crash after publishing and before removing publishes
the same event (same id, same bytes) again; consumers drop the duplicate by
event id. Several replicas of a service may run a relay: a lease in the
``locks`` collection (:mod:`.lease`) lets one publish at a time.
"""
