"""The domain core: plain Python, no HTTP. Orders, the workflow table, money, franchise routing."""
