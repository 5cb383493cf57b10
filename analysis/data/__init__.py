"""The dataset: raw tables, schemas, units, quality rules, storage, the synthetic panel."""
