"""Checking a student's work: the notation parser, names, answers files, the mistake catalogue, grading."""
