from refill.cli import main

raise SystemExit(main())
