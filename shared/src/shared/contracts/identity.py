"""Events of the identity service (issue 4)."""
