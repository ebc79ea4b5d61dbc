"""`python -m reinforceable`: see `reinforceable.commands.main`."""

from reinforceable.commands.main import main

raise SystemExit(main())
