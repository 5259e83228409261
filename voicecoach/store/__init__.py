"""The store: session history (SQLite) and its report."""
