"""Ingest: read news files and folders, plan and build a new generation, publish it."""
