"""conftest.py — what every Python test folder shares: tests/ on sys.path, for procs.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
