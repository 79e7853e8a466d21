"""Test harness: real backends for the session, per-test isolation, waiting on conditions."""
