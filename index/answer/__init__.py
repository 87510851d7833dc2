"""Answers: what a question asks (dates, answer type, spelling), which passages to show, their excerpts."""
