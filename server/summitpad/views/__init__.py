"""One module per page or endpoint; each is thin and calls into the domain modules."""
