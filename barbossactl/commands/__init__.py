"""One module per API service; each imported only when one of its commands runs."""
