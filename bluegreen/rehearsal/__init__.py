"""The migration dress rehearsal: real payments through real servers while the project's own
shifter and switchover code move them, and every payment counted at the end (docs/rehearsal.md)."""
