"""Budget breach and outside-interval alerts with an open/update/resolve lifecycle."""
