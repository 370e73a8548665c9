"""A throwaway service-account key, so the local stack can sign URLs with no cloud account.

The key is made on this machine and is known to nothing in Google Cloud: URLs signed with it are
accepted only by the storage emulator (which does not check signatures), never by real GCS.
"""

from __future__ import annotations

import json
import os
import uuid

LOCAL_SERVICE_ACCOUNT_EMAIL = "plait-local@plait-local.iam.gserviceaccount.com"


def make_local_service_account_key(directory: str, email: str = LOCAL_SERVICE_ACCOUNT_EMAIL) -> str:
    """Write a new RSA-2048 service-account key file into ``directory`` and return its path."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {
        "type": "service_account",
        "project_id": "plait-local",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": email,
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "local-service-account.json")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(key, file)
    return path


def load_private_key(key_file: str):
    """The private key in a service-account key file."""
    from cryptography.hazmat.primitives import serialization

    with open(key_file) as file:
        pem = json.load(file)["private_key"]
    return serialization.load_pem_private_key(pem.encode(), password=None)
