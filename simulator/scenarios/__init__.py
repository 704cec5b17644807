"""Scenarios: YAML scripts of what the seller (and the marketplace) does to an order.

model (files, validation) -> bodies (request bodies per action) -> checks (expectations) ->
engine (plays one scenario over HTTP, emitting events) -> reporters (console, JUnit) ->
conformance (the ``moisim conformance`` command); playback binds scenarios to incoming orders on
a running server.
"""
