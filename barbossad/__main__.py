"""python -m barbossad"""

import sys

from barbossad.cli import main

sys.exit(main())
