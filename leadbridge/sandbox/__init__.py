"""Local emulators of the Salesforce and HubSpot APIs (demo, offline trials, tests, benchmarks)."""
