"""Tickets as calls make them: one per call, keyed on CallSid, with a timeline of events."""
