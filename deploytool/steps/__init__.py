"""Build, push and pull steps: a registry of built-ins (no step is ever imported from a path named in a file)."""
