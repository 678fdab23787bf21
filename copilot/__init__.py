"""Live suggestions for the human agent."""
