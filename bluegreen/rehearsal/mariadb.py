"""The rehearsal's name for the project's one MariaDB starter, bluegreen/local_mariadb.py (the payment
service's tests, the fence's tests and scripts/payment-api-local use it too, hence its neutral home)."""

from bluegreen.local_mariadb import *  # noqa: F403 - the same names, one implementation
from bluegreen.local_mariadb import __all__  # noqa: F401
