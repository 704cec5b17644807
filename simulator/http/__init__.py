"""The HTTP surface: thin handlers that parse, authorise, call the domain and render."""

from simulator.http.app import create_app

__all__ = ["create_app"]
