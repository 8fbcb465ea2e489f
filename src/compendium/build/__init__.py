"""The build: the registry of notebook runs, make rules, and the paper."""
