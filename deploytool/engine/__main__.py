"""`python -m deploytool.engine`: execute the flow run described by DEPLOYTOOL_RUN_SPEC."""

from deploytool.engine.runner import main

raise SystemExit(main())
