"""The project file: find it, load it with positions, validate it, and turn it into a Project."""
