"""Council registers: blue badge, library card, resident parking permit and assisted bin
collection, each cancelled or passed on after a death (task queue `council-registers`)."""
