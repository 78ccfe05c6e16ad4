"""Batch: plan → execute → render → publish, each a `shnor` sub-command (runner composes them)."""
