"""Follow-up notifications: the outbox, its relay, RQ jobs, SMS and email senders."""
