"""Month-end spend projections from actuals plus the forecast."""
