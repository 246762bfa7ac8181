"""The engine's per-task overhead against Luigi's and Prefect's, measured in the same run."""
