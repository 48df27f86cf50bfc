"""Local emulators of the Salesforce and HubSpot APIs: for the demo, offline trials, tests, benchmarks."""
