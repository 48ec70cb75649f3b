"""A contract test suite for deployment-variant plugins, shipped with the core so any plugin can run it.

A plugin's test module subclasses :class:`VariantContract` and provides a ``deployment`` fixture that
returns a :class:`Deployment`: the settings a user of that deployment would write, and what the suite
should then observe (the variant selected, project and domain, auth kind, transport, where uploads land).
:func:`serve` starts a real ``union serve`` in this process, configured like a deployment (auth on or
off, its store on local disk or on an object store), for the deployment to point at::

    import pytest
    from union.testing import Deployment, VariantContract, serve
    from union.testing.fixtures import *  # noqa: F403  (isolation fixtures)

    class TestMyVariant(VariantContract):
        @pytest.fixture
        def deployment(self, tmp_path):
            with serve(tmp_path, auth=True) as server:
                yield Deployment(variant="mine", settings={"endpoint": server.url, "insecure": True,
                                 "api_key": server.api_key()}, ...)

Importing this package imports pytest; the library itself never imports it.
"""

from __future__ import annotations

from union.testing.contract import VariantContract
from union.testing.deployment import Deployment, RunningServer, serve

__all__ = ["Deployment", "RunningServer", "VariantContract", "serve"]
