"""The engine: runs inside a job (a local process or a container) and executes one flow run.

It imports the standard library and deploytool.flows only, so that a run's start-up cost is the interpreter
plus the user's own imports. `spec` holds the contract with the worker (run spec, exit codes), `events` the
event line format; docs/engine.md describes both.
"""
