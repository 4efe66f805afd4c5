"""Payments belong to the merchant a verified client certificate may act for (client_identity.py).

* ``client_merchants``: certificate subject -> merchant ids it may create and read payments for.
* The idempotency key is scoped to its merchant: ``idempotency_keys`` is keyed by (merchant_id,
  idempotency_key) and ``payments`` holds one payment per (merchant_id, idempotency_key), so two
  merchants' keys can neither collide nor be probed for. Existing rows take their payment's merchant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_merchants",
        sa.Column("client_subject", sa.String(512), primary_key=True),
        sa.Column("merchant_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        mysql_engine="InnoDB",
    )
    # Filled from each key's payment, then part of the primary key.
    op.add_column("idempotency_keys", sa.Column("merchant_id", sa.String(64), nullable=False, server_default=""))
    op.execute("UPDATE idempotency_keys i JOIN payments p ON p.payment_id = i.payment_id SET i.merchant_id = p.merchant_id")
    op.alter_column("idempotency_keys", "merchant_id", existing_type=sa.String(64), nullable=False, server_default=None)
    op.execute("ALTER TABLE idempotency_keys DROP PRIMARY KEY, ADD PRIMARY KEY (merchant_id, idempotency_key)")
    op.create_unique_constraint("uq_payments_merchant_key", "payments", ["merchant_id", "idempotency_key"])
    # 0001's column-level UNIQUE is named after its column.
    op.drop_index("idempotency_key", table_name="payments")


def downgrade() -> None:
    op.create_unique_constraint("idempotency_key", "payments", ["idempotency_key"])
    op.drop_constraint("uq_payments_merchant_key", "payments", type_="unique")
    op.execute("ALTER TABLE idempotency_keys DROP PRIMARY KEY, ADD PRIMARY KEY (idempotency_key)")
    op.drop_column("idempotency_keys", "merchant_id")
    op.drop_table("client_merchants")
