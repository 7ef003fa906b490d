"""End-to-end fixtures: the sandbox over HTTP, real `exmado worker` processes, real Redis.

They live in tests/reliability/harness.py, shared with the fault suite.
"""

from tests.reliability.harness import docuware, exmado, sandbox

__all__ = ["docuware", "exmado", "sandbox"]
