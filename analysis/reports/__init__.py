"""Report runs: schedules, the runner, the index, notebook parameters and report content."""
