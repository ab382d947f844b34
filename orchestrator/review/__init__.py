"""Closing the loop on finished work: the review checklist, gates run on request, cleanup."""
