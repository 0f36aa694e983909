"""The web dashboard (`deploytool ui`): HTML pages and a JSON API (/api/v1/) over the store, calling the same core
functions as the CLI. Imported only by that command: starlette and uvicorn never load for the rest of the CLI.
docs/ui.md is the user's guide."""
