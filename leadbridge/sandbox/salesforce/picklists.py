"""Picklist values of the standard objects, shared by their definitions, rules and seeding."""

from __future__ import annotations

INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CONVERTED_STATUS = "Closed - Converted"
LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
    "Seminar",
    "Webinar",
    "Whitepaper Download",
    "Advertisement",
)
OPPORTUNITY_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    # (stage, probability, closed, won): IsClosed/IsWon derive from the stage.
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
