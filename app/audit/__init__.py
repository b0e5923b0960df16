"""The append-only audit log: who changed what and when, with before and after values."""
