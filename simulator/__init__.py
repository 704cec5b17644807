"""moisim: a simulator of a VTEX level-2 seller (chain agent) and its level-3 franchise stores."""

__version__ = "0.1.0"
