"""python3 -m fakekube --port 0 --state-dir DIR [--path PATH] [--node-env K=V] (see server.main)."""
import sys

from .server import main

sys.exit(main())
