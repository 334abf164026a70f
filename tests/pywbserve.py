"""pywb's replay app on 127.0.0.1, port 0. Run with pywb's own Python, in a directory holding
``collections/``; prints ``PORT <n>`` when ready (as tests/server.py does).

pywb runs in an environment of its own (see tests/pywb_tool.py), so this script imports nothing of collector
or of the tests.
"""

from gevent.monkey import patch_all

patch_all()

import sys  # noqa: E402 - after gevent's patching, as pywb's own CLI does

from gevent.pywsgi import WSGIServer  # noqa: E402
from pywb.apps.frontendapp import FrontEndApp  # noqa: E402


def main() -> None:
    server = WSGIServer(("127.0.0.1", 0), FrontEndApp(), log=None, error_log=sys.stderr)
    server.start()
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
