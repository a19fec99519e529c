"""Package-manager backends: ``parse_*`` functions are pure; commands go through the Runner."""
