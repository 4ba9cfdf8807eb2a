"""The platform's status: availability probes, incidents, planned maintenance, the public status
page and feeds, and signed outage attestations (CPC 748-7)."""
