"""The build pipeline: the registry of notebook runs, make rules, the paper and the site."""
