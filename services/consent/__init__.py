"""The consent gate: lawful basis and consent per share, share tokens, and the resident's
hash-chained data-use ledger. Runs as `python -m services.consent`."""
