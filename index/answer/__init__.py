"""Answers: what a question asks (dates, answer type, spelling), the passages shown, their notes."""
