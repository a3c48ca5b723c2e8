"""Starts moto_server with DynamoDB's isolation restored.

DynamoDB applies each write, and each TransactWriteItems, atomically: a condition is checked and the write
applied with no other write in between, so "add 1 if active < max" can never overshoot. moto serves requests
on parallel threads and checks a transaction's conditions and applies its items without a lock, so two racing
transactions can both pass a check that only one should. Tests of invariants the store must hold (an agent's
capacity, one assignee per conversation) would then fail at random, for the emulator's sake, not ours.

This launcher serialises moto's DynamoDB operations behind one lock, as the real service behaves, and leaves
every other service (SQS long polling included) running in parallel. Usage: the same arguments as moto_server.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "query",
    "scan",
    "transact_get_items",
    "batch_get_item",
)


def _serialised(operation):
    @functools.wraps(operation)
    def locked(*args, **kwargs):
        with _LOCK:
            return operation(*args, **kwargs)

    return locked


for _name in _OPERATIONS:
    setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
