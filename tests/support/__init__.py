"""Test helpers that make real packages and serve them from loopback indexes."""
