"""The on-disk layout of a generation: its arrays, flags and date epoch, shared by the build and read paths.

A generation is written by ``ingest`` and read by ``ranking`` and ``answer``; this module is the one
place both sides agree on, so neither imports the other. ``LAYOUT`` names the version: a generation of
another layout is rebuilt by the next reindex.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
FLAG_JUNK = 1  # kept in the store: a byline, caption, dateline, time stamp, sign-up line
FLAG_NUMBER = 2  # only in a generation's para_flags: the paragraph holds a number (a word with an
# ASCII digit, after the tokenizer's normalising; numbers written out in words are not counted) and is
# not junk
FLAG_HEADLINE = 4  # only in a generation's para_flags: the article has nothing but junk paragraphs
# (a video page: its headline and the player's boilerplate), and its first paragraph stands for the
# headline: it is scored on the title's words with its own, undamped (headline_documents), and an
# answer shows the title in its place unless only the paragraph's own words match the question

NO_DATE = int(np.iinfo(np.int32).min)  # para_days/art_days of an undated article
ARRAYS = (
    "para_ids",
    "para_article",
    "para_len",
    "para_words",
    "para_flags",
    "para_days",
    "art_ids",
    "art_days",
    "art_start",
    "w_indptr",
    "w_indices",
    "w_data",
    "w_floor",
    "t_indptr",
    "t_indices",
    "t_data",
    "t_floor",
    "a_indptr",
    "a_indices",
    "a_tf",
    "a_idf",
    "a_k1_norm",
    "e_indptr",
    "e_entries",
    "art_keys",
)


DERIVED = ("para_days", "para_words")  # arrays that older generations lack and loading can compute
MAX_WORDS = 255  # para_words: a paragraph's length in indexed words, capped to fit a byte
# the pruned ranking's bounds per (word, block of paragraphs): ingest/blocks.py
BOUNDS = ("e_indptr", "e_entries")
# one entry: its block, the postings the block owns (paragraph, whole-article), the highest weights
# (float32 rounded up); one record, so that a word's entries are one run of pages
ENTRY = np.dtype(
    [("block", "<i4"), ("bcount", "<u2"), ("pad", "<u2"), ("acount", "<u4"), ("bmax", "<f4"), ("amax", "<f4")]
)
WHOLE_ARTICLES = ("a_indptr", "a_indices", "a_tf", "a_idf", "a_k1_norm")  # the whole-article matrix
KEYS = ("art_keys",)  # each article's stable key (from its text's hash): the order of ties, on any shard
OPTIONAL = (*WHOLE_ARTICLES, *BOUNDS, *KEYS)  # arrays that older generations lack
# 12: articles ordered by (day, key), with art_keys;
# 11: articles in date order, with block bounds; 10: FLAG_HEADLINE; 9: FLAG_NUMBER; 8: whole-article
# BM25 in blocks. A generation of an older layout is served as it is (ranked exhaustively) and
# rebuilt by the next reindex
LAYOUT = 12
