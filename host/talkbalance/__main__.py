from talkbalance.cli import main

raise SystemExit(main())
