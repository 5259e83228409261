"""Device adapters. Each device library is imported in exactly one module here."""
