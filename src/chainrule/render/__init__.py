"""Output for people: the LaTeX printer, answer sheets, handouts, plots, text and JSON reports, latexmk."""
