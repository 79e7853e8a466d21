"""Outbound alert delivery: fan-out to subscriptions, webhooks and SNS, with retries."""
