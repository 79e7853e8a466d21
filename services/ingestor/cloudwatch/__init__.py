"""CloudWatch GetMetricData polling: pure planning (``plan``) and the boto3 poller."""
