"""Events of the delivery service."""
