"""The three metric families and the comparison of districts against a benchmark."""
