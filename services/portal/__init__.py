"""The resident portal and the caseworker console: one web app, two roles."""
