"""``python -m choicemodels``: the same program as the ``choicemodels`` command."""

from choicemodels.cli import main

raise SystemExit(main())
