"""What people's verdicts do to detection."""
