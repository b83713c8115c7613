"""``gridtsne serve`` and ``gridtsne keys``: the web API's command line."""

import argparse
import sys


def build_parser():
    p = argparse.ArgumentParser(prog="gridtsne", description="The gridtsne web API.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the visualization API over HTTP",
                       description="Serves POST/GET/DELETE /v2/visualizations over the "
                       "FiftyOne database this environment is configured for "
                       "(FIFTYONE_DATABASE_URI, else the embedded one).")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=8151, help="port (default: 8151)")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="delegated-operation workers to start beside the server "
                   "(default: 1; 0: runs are left to `fiftyone delegated launch` "
                   "workers elsewhere)")
    k = sub.add_parser("keys", help="create, list and revoke API keys")
    ks = k.add_subparsers(dest="action", required=True)
    c = ks.add_parser("create", help="make a key; it is printed once, only its hash is kept")
    c.add_argument("name")
    c.add_argument("--datasets", metavar="A,B",
                   help="limit the key to these datasets (default: all)")
    ks.add_parser("list", help="the keys' names, datasets and creation times")
    r = ks.add_parser("revoke", help="delete a key: requests with it get 401 at once")
    r.add_argument("name")
    return p


def main(argv):
    args = build_parser().parse_args(argv)
    from gridtsne.serve import keys

    try:
        if args.command == "serve":
            return _serve(args)
        if args.action == "create":
            secret = keys.create(args.name, (args.datasets or "").split(","))
            print("Created key %r%s. It is shown only now; send it as "
                  "'Authorization: Key <key>'." % (
                      args.name, " for datasets " + args.datasets if args.datasets else ""))
            print("key: %s" % secret)
        elif args.action == "list":
            for key in keys.list_keys():
                print("%-24s %-30s %s" % (key["name"], ",".join(key["datasets"] or ["(all)"]),
                                          key["created_at"]))
        else:
            keys.revoke(args.name)
            print("Revoked key %r" % args.name)
        return 0
    except keys.BadKey as e:
        print("gridtsne: error: %s" % e, file=sys.stderr)
        return 2


def _serve(args):
    from gridtsne.serve import server

    if not 0 <= args.workers <= 64:
        print("gridtsne: error: --workers must be from 0 to 64", file=sys.stderr)
        return 2

    def ready(url):
        print("gridtsne: serving %s/v2/visualizations with %d worker(s); Ctrl-C stops it"
              % (url, args.workers), flush=True)

    server.serve(args.host, args.port, args.workers, ready=ready)
    print("gridtsne: stopped", flush=True)
    return 0
