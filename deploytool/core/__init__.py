"""Use cases: typed values in, data out. The CLI renders what these return."""
