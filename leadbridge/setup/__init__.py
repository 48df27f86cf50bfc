"""Provisioning plan/apply and the setup checklist."""
