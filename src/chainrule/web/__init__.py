"""`chainrule serve`: the problem as a web page, live previews and checks for one student's answers."""
