"""Nurture layer: scoring, workflows, SLA clocks, KPIs and reports."""
