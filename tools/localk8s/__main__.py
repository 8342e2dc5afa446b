"""``python -m localk8s start|stop|status|images|audit``."""

import sys

from localk8s.cli import main

sys.exit(main())
