"""The ingestor: CUR/FOCUS deliveries, CloudWatch datapoints and EC2 inventory onto Kafka."""
