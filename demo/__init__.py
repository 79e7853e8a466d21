"""``make demo``: the whole system on one machine, on a simulated AWS organisation.

Not a service: it runs the services as separate processes (as production
does) and talks to them only through the CLI, Kafka and the gateway's REST API.
"""
