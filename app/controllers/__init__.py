"""Controllers of the screening window."""
