"""One module per family of types; each transformer encodes both a literal and a nested (plain) form."""
