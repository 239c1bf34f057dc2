"""``python -m gophership`` runs the daemon CLI."""

from gophership.cli import main

raise SystemExit(main())
