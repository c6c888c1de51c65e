"""Coordinators: producer ids, consumer groups and transactions."""
