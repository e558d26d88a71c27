"""The shared kernel: settings, database sessions, queue, Twilio client and vocabulary."""
