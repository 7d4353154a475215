"""`lifeevents bench`: a load generator of synthetic life events, and the figures of the whole
system under it (`lifeevents run` in a temporary folder) beside raw Kafka and Temporal."""
