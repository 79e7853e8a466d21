"""The gateway: Kafka results -> PostgreSQL, REST ``/v1``, and real-time alert delivery."""
