"""Events of the audit service (issue 8)."""
