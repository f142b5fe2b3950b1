"""Dialogs of the screening window."""
