from deploytool.cli.entry import main

raise SystemExit(main())
