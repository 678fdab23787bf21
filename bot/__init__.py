"""The customer conversation policy."""
