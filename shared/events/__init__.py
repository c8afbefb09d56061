"""Events: the envelope in memory (:mod:`.envelope`), as Kafka messages (:mod:`.codec`), and
their trace context and ids (:mod:`.trace`)."""
