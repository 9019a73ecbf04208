"""``python -m tinyae.selftest --backend cupy --out DIR``: see :mod:`tinyae.selftest`."""

from tinyae.selftest.run import main

raise SystemExit(main())
