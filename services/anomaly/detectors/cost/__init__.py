"""Online detectors for daily cost series."""
