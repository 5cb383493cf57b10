"""Vietnamese text: numbers, dates, hedges, place names, and figure extraction."""
