"""Numenta Anomaly Benchmark (NAB) scorer and runner: pure, file-in/file-out, no Kafka."""
