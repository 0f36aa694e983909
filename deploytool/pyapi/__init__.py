"""The Python API behind `Flow.deploy` and `Flow.serve`: a flow's arguments made into a project, deployed
through the same validation, build/push steps, resolve, plan and apply as `deploytool deploy`.

`deploytool.flows` imports this package inside those methods only, so the engine (which imports
`deploytool.flows` in every job) never loads it.
"""
