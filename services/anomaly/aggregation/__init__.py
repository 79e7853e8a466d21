"""Restatement-aware aggregation of CUR line items into cost series."""
