"""Benefits: housing benefit and council tax reduction claims follow a move (task queue
`benefits`)."""
