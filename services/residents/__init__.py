"""The resident index: one pseudonymous key per person, matched from life events.

Files by role: `matching.py` (the rule), `models.py` (activity I/O), `store.py` (tables and
data access), `index.py` (the operations), `activities.py` (Temporal), `worker.py` (the
process), `seed.py` (demo residents from `contracts/examples`). See README.md.
"""
