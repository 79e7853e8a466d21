"""Pure CUR / CUR 2.0 / FOCUS parsing: manifests, streaming readers, normalisation.

Nothing here talks to Kafka or AWS; the pipeline in ``services.ingestor.delivery``
feeds files in and sends what comes out.
"""
