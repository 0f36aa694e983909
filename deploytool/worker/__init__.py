"""The worker: claims flow runs, launches them through the pool type's infrastructure, and owns them to the end."""
