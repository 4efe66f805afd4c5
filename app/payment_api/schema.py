"""The payment tables (SQLAlchemy Core). The Alembic migrations create exactly these.

Double entry: every payment debits the customer's account and credits the merchant's by the same
amount and writes one ledger entry for each, in one transaction, so per currency the sum of all
balances stays 0 and every balance equals the sum of its ledger entries. Accounts are created on
first use and may go negative: this is a card network's settlement ledger (what each party is owed
or owes), not a credit check.

The idempotency key, scoped to its merchant, is the primary key of ``idempotency_keys``: the
database, not the process, makes two racing requests with one key into one payment, and two
merchants' keys never meet (one cannot collide with, or probe for, another's). The row stores the request's hash and
the first answer, so a replay gets the same bytes back.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

KEY_MAX = 255
#: Longest client certificate subject (RFC 2253) a grant may name; with the merchant id the primary
#: key of client_merchants stays within InnoDB's 3072 bytes in utf8mb4.
SUBJECT_MAX = 512

accounts = Table(
    "accounts", metadata,
    Column("kind", String(8), primary_key=True),  # customer | merchant
    Column("owner_id", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("balance_minor", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    CheckConstraint("kind IN ('customer', 'merchant')", name="ck_accounts_kind"),
    mysql_engine="InnoDB",
)

payments = Table(
    "payments", metadata,
    Column("payment_id", String(36), primary_key=True),
    Column("idempotency_key", String(KEY_MAX), nullable=False),
    Column("merchant_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_token", String(128), nullable=False),  # a token, never a PAN (pan.py refuses those)
    Column("status", String(16), nullable=False),
    Column("colour", String(16), nullable=False),  # which colour's task took it (for the rehearsal's count)
    Column("created_at", DateTime(timezone=False), nullable=False),
    CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),
    UniqueConstraint("merchant_id", "idempotency_key", name="uq_payments_merchant_key"),
    mysql_engine="InnoDB",
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("merchant_id", String(64), primary_key=True),
    Column("idempotency_key", String(KEY_MAX), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("payment_id", String(36), ForeignKey("payments.payment_id", name="fk_idem_payment"), nullable=False),
    Column("response_status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    mysql_engine="InnoDB",
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=True),
    Column("payment_id", String(36), ForeignKey("payments.payment_id", name="fk_ledger_payment"), nullable=False),
    Column("account_kind", String(8), nullable=False),
    Column("account_owner_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # signed: debit < 0, credit > 0
    Column("created_at", DateTime(timezone=False), nullable=False),
    ForeignKeyConstraint(["account_kind", "account_owner_id", "currency"],
                         ["accounts.kind", "accounts.owner_id", "accounts.currency"], name="fk_ledger_account"),
    Index("ix_ledger_payment", "payment_id"),
    mysql_engine="InnoDB",
)

#: Which merchants a client (its certificate's subject, as the load balancer passes it) may create and
#: read payments for (client_identity.py). Written only by `payment-api clients` with the admin login.
client_merchants = Table(
    "client_merchants", metadata,
    Column("client_subject", String(SUBJECT_MAX), primary_key=True),
    Column("merchant_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    mysql_engine="InnoDB",
)
