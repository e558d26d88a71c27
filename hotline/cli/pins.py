"""Commands: pins."""
