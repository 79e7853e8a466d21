"""CloudWatch metric streams: per-stream trackers."""
