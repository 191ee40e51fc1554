"""The engine: stores (memory, on disk, remote), loading, query checks and execution, and the
query workers. Never imports Flask, the build or validation."""
