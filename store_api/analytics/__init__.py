"""Browsing analytics for the owner: rollups maintained incrementally, reports, dashboard."""
