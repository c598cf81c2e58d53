"""`python docker/image.py COMMAND`: the image tooling's command line (tools/tabship_dev/images).

Plain Python 3.11 standard library: it runs before any environment exists. See docker/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from tabship_dev.images.cli import main

if __name__ == "__main__":
    sys.exit(main())
