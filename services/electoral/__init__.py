"""Electoral services: the register follows residents when they move (task queue
`electoral-services`)."""
