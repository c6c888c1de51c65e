import sys

from kpy.protocol._codegen.generator import main

sys.exit(main())
