"""Sync engine: mapping, identity, three-way merge, plan, write, state, runners."""
