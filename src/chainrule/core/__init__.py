"""The symbolic core: spec, model, both derivations, proofs, exact numbers, the learning rate, the solution.

It never imports check, render, classroom or cli."""
