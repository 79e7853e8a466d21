"""Fleet-level noise control for metric incidents: one per resource, priced, budgeted."""
