"""Bad inputs and injected faults: the guarantees listed in docs/reliability.md."""
