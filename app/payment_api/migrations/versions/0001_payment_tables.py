"""The payment tables: accounts, payments, idempotency keys, ledger entries (schema.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def create_table(name: str, *columns: sa.Column, constraints: tuple = ()) -> None:
    """A payment table: its columns, then created_at (every table has it, last), then its constraints; InnoDB."""
    op.create_table(name, *columns, sa.Column("created_at", sa.DateTime, nullable=False), *constraints,
                    mysql_engine="InnoDB")


def upgrade() -> None:
    create_table(
        "accounts",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner_id", sa.String(64), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        constraints=(sa.CheckConstraint("kind IN ('customer', 'merchant')", name="ck_accounts_kind"),),
    )
    create_table(
        "payments",
        sa.Column("payment_id", sa.String(36), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("card_token", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("colour", sa.String(16), nullable=False),
        constraints=(sa.CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),),
    )
    create_table(
        "idempotency_keys",
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.payment_id", name="fk_idem_payment"),
                  nullable=False),
        sa.Column("response_status", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
    )
    create_table(
        "ledger_entries",
        sa.Column("entry_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("payment_id", sa.String(36), sa.ForeignKey("payments.payment_id", name="fk_ledger_payment"),
                  nullable=False),
        sa.Column("account_kind", sa.String(8), nullable=False),
        sa.Column("account_owner_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        constraints=(sa.ForeignKeyConstraint(["account_kind", "account_owner_id", "currency"],
                                             ["accounts.kind", "accounts.owner_id", "accounts.currency"],
                                             name="fk_ledger_account"),
                     sa.Index("ix_ledger_payment", "payment_id")),
    )


def downgrade() -> None:
    for table in ("ledger_entries", "idempotency_keys", "payments", "accounts"):
        op.drop_table(table)
