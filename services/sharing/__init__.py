"""The sharing service: OAuth 2.0 authorization server, organisation directory, policy."""
