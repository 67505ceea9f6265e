"""One module per resource: spec -> the integer tables the engine reads."""
