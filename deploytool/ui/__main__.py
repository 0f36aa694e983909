"""`python -m deploytool.ui`: what `deploytool ui` runs. Settings come from the environment (DEPLOYTOOL_HOME,
DEPLOYTOOL_UI_HOST, _PORT, _TOKEN, _READ_ONLY, _OPEN); errors are a message and a hint, never a traceback."""

from __future__ import annotations

import os
import sys

from deploytool.errors import EXIT_INTERRUPTED, DeploytoolError


def main() -> int:
    from deploytool.ui.config import from_env
    from deploytool.ui.server import serve

    try:
        config, open_browser = from_env(os.environ)
        serve(config, open_browser=open_browser)
    except DeploytoolError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
