"""`python -m codecarbon` runs the `codecarbon` command."""

import sys

from codecarbon.cli.main import main

sys.exit(main())
