"""Commands of the gateway: `python -m gateway migrate` applies the user store's migrations."""
import sys

from .db import open_database
from .settings import GatewaySettings

if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit("usage: python -m gateway migrate")
    open_database(GatewaySettings(migrate_on_start=True)).dispose()
    print("gateway: database migrated to head")
