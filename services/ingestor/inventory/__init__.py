"""EC2 inventory: pure change detection (``changes``) and the boto3 collector."""
