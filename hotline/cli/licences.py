"""Commands: licences."""
