"""Audit receipts for evidence: the kernel's client (`shared.receipts`)."""

from shared.receipts import *  # noqa: F403 - delivery's import path, kept until it imports the kernel
