"""The command line: typer and rich live only here. Each command parses, calls one function, renders."""
