"""Who is on call and how to reach them: schedules, escalation policies, ringing."""
