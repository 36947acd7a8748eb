"""tests/adversarial/conftest.py — the integration fixtures, shared.

The adversarial suites run the same daemon the same way as tests/integration
(one config per test, loopback only, every process ended by PID), so they use
its conftest rather than a copy: it is loaded under its own module name and its
fixtures and helpers are re-exported here.
"""

import importlib.util
import sys
from pathlib import Path

_INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(_INTEGRATION))  # delivery_fixtures, smtp_recorder, ... import as in integration

_spec = importlib.util.spec_from_file_location("integration_conftest", _INTEGRATION / "conftest.py")
integration_conftest = importlib.util.module_from_spec(_spec)
sys.modules["integration_conftest"] = integration_conftest
_spec.loader.exec_module(integration_conftest)

from integration_conftest import *  # noqa: E402,F401,F403  (fixtures: daemon, daemon_factory; RawSmtp, ...)
from integration_conftest import daemon, daemon_factory, held_ports  # noqa: E402,F401  (pytest finds fixtures by name)
