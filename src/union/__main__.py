"""``python -m union``: the same as the ``union`` command."""

from union.cli.main import main

raise SystemExit(main())
