"""How Life Events runs: `deploy.local` is the embedded default stack."""
