"""Who owns the assets, as the UI shows it beside each asset."""

OWNERS = ["team:taxi-data"]
"""The team that runs this platform: every asset, loads and analytics alike."""
