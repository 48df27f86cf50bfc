"""In-memory Salesforce org emulator."""
