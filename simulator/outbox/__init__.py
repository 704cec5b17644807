"""Callbacks to the marketplace: what they say (``callbacks``) and how they get there (``dispatcher``)."""
