"""`python -m barbossactl`."""

import sys

from barbossactl.cli import main

sys.exit(main())
