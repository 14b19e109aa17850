"""The ovnet command line."""
