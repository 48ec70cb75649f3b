"""``union serve``: the embedded engine behind the Connect API over HTTP, with a data proxy and auth."""
