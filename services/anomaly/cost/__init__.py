"""Cost series detection per account: hierarchy, grouping, root cause, lifecycle."""
