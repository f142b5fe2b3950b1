"""Views of the screening window."""
