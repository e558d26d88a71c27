"""Email intake: messages stored as received, then read by a worker job into tickets.

The rules, stated once (the phone's, applied to a subject line):
- The PIN is "PIN <digits>" in the subject, any case; "PIN p<digits>" is a privileged PIN.
  It is checked by entitlement.verify like a typed PIN (kinds, one-time claims, lockouts, kept
  per sender address and per account); its digits are masked before the message is stored.
- The sender (the From address) must be a contact of the PIN's account; otherwise the message
  is held for staff to approve, and the sender is told it will be slower.
- A reply to one of our messages (In-Reply-To/References, or [HL-000123] in the subject) from a
  contact of the ticket's account joins that ticket's conversation; no PIN is needed.
- Nothing automatic is ever answered (RFC 3834): auto-replies, bounces, lists, bulk mail.
"""
