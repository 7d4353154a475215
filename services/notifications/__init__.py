"""Notifications: telling residents what was done, on their preferred channel (task queue
`notifications`)."""
