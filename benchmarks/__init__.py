"""Performance benchmarks for union's uploads and import time: ``python -m benchmarks [names...] [--quick]``."""
