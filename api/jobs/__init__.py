"""Background jobs the entry points run: they know no HTTP and no command line."""
