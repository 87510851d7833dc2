from newsbot.cli.main import main

raise SystemExit(main())
