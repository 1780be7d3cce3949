"""Bootstrap helper for the devenv MongoDB-wire server (SecantusDB).

Run by devenv/up.sh with the venv's python. Passwords come from the
environment (MACHINA_MONGODB_ROOT_PASSWORD), never from the command line,
and are never printed.

  mongo_admin.py ping PORT          server answers (no credentials)
  mongo_admin.py create-root PORT   create (or reset) the root user; server must run without --auth
  mongo_admin.py check-auth PORT    root credentials work and can list databases
"""

import os
import sys

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

USER = os.environ.get("MACHINA_MONGODB_ROOT_USERNAME", "root")


def client(port, with_auth):
    kwargs = {"serverSelectionTimeoutMS": 2000, "connectTimeoutMS": 2000}
    if with_auth:
        kwargs.update(
            username=USER,
            password=os.environ["MACHINA_MONGODB_ROOT_PASSWORD"],
            authSource="admin",
            authMechanism="SCRAM-SHA-256",
        )
    return MongoClient(host="127.0.0.1", port=port, **kwargs)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    action, port = sys.argv[1], int(sys.argv[2])
    try:
        if action == "ping":
            client(port, False).admin.command("ping")
        elif action == "create-root":
            admin = client(port, False).admin
            pwd = os.environ["MACHINA_MONGODB_ROOT_PASSWORD"]
            roles = [{"role": "root", "db": "admin"}]
            existing = admin.command("usersInfo", USER).get("users", [])
            if existing:
                admin.command("updateUser", USER, pwd=pwd, roles=roles)
            else:
                admin.command("createUser", USER, pwd=pwd, roles=roles)
        elif action == "check-auth":
            client(port, True).admin.command("listDatabases", nameOnly=True)
        else:
            print(f"unknown action {action!r}", file=sys.stderr)
            return 2
    except OperationFailure as e:
        # e.g. code 18 AuthenticationFailed; the message carries no secret.
        print(f"mongodb {action}: {e.code} {e.details.get('errmsg', '') if e.details else ''}", file=sys.stderr)
        return 3
    except PyMongoError as e:
        print(f"mongodb {action}: {type(e).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
