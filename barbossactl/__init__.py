"""barbossactl: the command-line client of barbossad (a thin gRPC client; nothing heavy here)."""
