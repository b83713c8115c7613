"""API keys: ``Authorization: Key <key>``.

A key is 32 random bytes; only its SHA-256 is stored (collection
``gridtsne_api_keys`` of FiftyOne's database). A slow password hash is not
needed: the secret is random, not chosen by a person, so it cannot be guessed
from its hash. A presented key is compared with every stored hash in constant
time, so neither the comparison nor the loop says how close a guess was.
"""

import datetime
import hashlib
import hmac
import re
import secrets

COLLECTION = "gridtsne_api_keys"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BadKey(ValueError):
    """A key that cannot be created or revoked, with the reason."""


def _keys():
    import fiftyone.core.odm as foodm

    return foodm.get_db_conn()[COLLECTION]


def _hash(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(name, datasets=None):
    """Stores a new key called ``name`` (limited to ``datasets`` when given);
    returns the key, which is not kept anywhere."""
    import pymongo.errors

    if not NAME.match(name or ""):
        raise BadKey("a key name is 1-64 letters, digits, '_', '.' or '-', got %r" % name)
    datasets = sorted({d.strip() for d in datasets or [] if d.strip()}) or None
    secret = "gt_" + secrets.token_urlsafe(32)
    collection = _keys()
    collection.create_index("name", unique=True)
    try:
        collection.insert_one({
            "name": name, "sha256": _hash(secret), "datasets": datasets,
            "created_at": datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None),
        })
    except pymongo.errors.DuplicateKeyError:
        raise BadKey("a key named %r exists: revoke it first or choose another name"
                        % name) from None
    return secret


def list_keys():
    """[{name, datasets, created_at}], oldest first (never the hashes)."""
    return [{k: d.get(k) for k in ("name", "datasets", "created_at")}
            for d in _keys().find({}, sort=[("created_at", 1)])]


def revoke(name):
    if not _keys().delete_one({"name": name}).deleted_count:
        raise BadKey("no key named %r" % name)


def authenticate(header):
    """The key's record ({name, datasets}) for an ``Authorization`` header
    value, or None."""
    scheme, _, secret = (header or "").strip().partition(" ")
    if scheme != "Key" or not secret.strip():
        return None
    presented = _hash(secret.strip())
    found = None
    for doc in _keys().find({}, {"name": 1, "sha256": 1, "datasets": 1}):
        if hmac.compare_digest(presented, doc.get("sha256", "")) and found is None:
            found = {"name": doc["name"], "datasets": doc.get("datasets")}
    return found


def allows(key, dataset_name):
    return key["datasets"] is None or dataset_name in key["datasets"]
