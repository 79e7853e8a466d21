"""Contracts and plumbing shared by every service; imports no service."""
