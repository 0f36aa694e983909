"""How a run executes: one runner per work pool type (process, docker)."""
