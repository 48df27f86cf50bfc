"""leadbridge benchmarks: API calls against the minimum, records per second, peak memory."""
