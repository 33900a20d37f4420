"""Microsoft Graph surface of the directory."""
