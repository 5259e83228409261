"""Settings: schema, validation and the TOML file."""
