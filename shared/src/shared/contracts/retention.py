"""Events of the retention service."""
