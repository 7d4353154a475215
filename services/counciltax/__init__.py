"""Council tax: liability follows residents when they move (task queue `council-tax`)."""
