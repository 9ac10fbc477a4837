"""Seller tablets: pairing codes and attempts, tablets, idempotent requests, holds by key

Revision ID: 0011
Revises: 0010b
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store_api.db

revision: str = "0011"
down_revision: str | None = "0010b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tablet_pairing_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tablet_pairing_attempts")),
    )
    with op.batch_alter_table("tablet_pairing_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tablet_pairing_attempts_address_at", ["address", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tablet_pairing_attempts_at"), ["at"], unique=False)

    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_key_id"],
            ["api_keys.id"],
            name=op.f("fk_idempotent_requests_client_key_id_api_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_requests")),
        sa.UniqueConstraint(
            "client_key_id", "idempotency_key", name="uq_idempotent_requests_client_key"
        ),
    )
    with op.batch_alter_table("idempotent_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotent_requests_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "tablets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=True),
        sa.Column("paired_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", store_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_tablets_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tablets")),
        sa.UniqueConstraint("api_key_id", name=op.f("uq_tablets_api_key_id")),
    )
    op.create_table(
        "tablet_pairing_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", store_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tablet_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tablet_id"], ["tablets.id"], name=op.f("fk_tablet_pairing_codes_tablet_id_tablets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tablet_pairing_codes")),
    )
    with op.batch_alter_table("tablet_pairing_codes", schema=None) as batch_op:
        batch_op.create_index("ix_tablet_pairing_codes_code_hash", ["code_hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tablet_pairing_codes_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_key_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_reservations_created_by_key_status", ["created_by_key_id", "status"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reservations_created_by_key_id_api_keys"),
            "api_keys",
            ["created_by_key_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reservations_created_by_key_id_api_keys"), type_="foreignkey"
        )
        batch_op.drop_index("ix_reservations_created_by_key_status")
        batch_op.drop_column("created_by_key_id")

    with op.batch_alter_table("tablet_pairing_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tablet_pairing_codes_expires_at"))
        batch_op.drop_index("ix_tablet_pairing_codes_code_hash")

    op.drop_table("tablet_pairing_codes")
    op.drop_table("tablets")
    with op.batch_alter_table("idempotent_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotent_requests_created_at"))

    op.drop_table("idempotent_requests")
    with op.batch_alter_table("tablet_pairing_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tablet_pairing_attempts_at"))
        batch_op.drop_index("ix_tablet_pairing_attempts_address_at")

    op.drop_table("tablet_pairing_attempts")
