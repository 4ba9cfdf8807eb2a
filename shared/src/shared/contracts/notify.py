"""Events of the notify service."""
