"""Connectors: the only path from leadbridge to Salesforce and HubSpot."""
