import sys

from kpy.cli import main

sys.exit(main())
