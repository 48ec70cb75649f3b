"""The ``union`` command line: one module per command, wired together in :mod:`union.cli.main`."""
