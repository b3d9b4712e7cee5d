"""`make token TENANT=acme`: print a local bearer token for a tenant."""

import sys

from infra.local.runtime import mint_token

if __name__ == "__main__":
    print(mint_token(sys.argv[1] if len(sys.argv) > 1 else "acme"))
