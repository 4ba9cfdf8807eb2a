"""Webhooks for offices (Standard Webhooks): an office registers HTTPS endpoints and the act
events it wants; each event of one of its acts becomes one delivery per endpoint, recorded with
the event's inbox key (never lost, never twice), signed (`webhook-id`, `webhook-timestamp`,
`webhook-signature`), retried with backoff, and logged where the office can read it.

Payloads are thin: the event's type, the act id and the instants and outcomes of the fact, no
personal datum (the office reads the act itself through the API).
"""
