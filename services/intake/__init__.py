"""The intake API: back-office systems that cannot produce to Kafka POST their life events here."""
