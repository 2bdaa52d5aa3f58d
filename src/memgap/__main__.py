"""`python -m memgap` runs the CLI (needed by `accelerate launch -m memgap train ...`)."""
import sys

from memgap.cli import main

sys.exit(main())
