"""The command line: parser, composition root and one module per command."""
