"""Content: routines, their loader and the vocabulary, all data."""
