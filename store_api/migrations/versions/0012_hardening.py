"""hardening: webhook customer-data switch and encrypted secrets, on_hand ceiling, dashboard sessions

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store_api.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.add_column(
            sa.Column(
                "include_customer_data", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        # An encrypted secret is longer than the clear one (store_api/webhooks/secrets.py).
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=80), type_=sa.String(length=255)
        )
    with op.batch_alter_table("stock_levels") as batch_op:
        batch_op.create_check_constraint("on_hand_within_max", "on_hand <= 1000000")
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_dashboard_sessions_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        "ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("stock_levels") as batch_op:
        batch_op.drop_constraint("on_hand_within_max", type_="check")
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=255), type_=sa.String(length=80)
        )
        batch_op.drop_column("include_customer_data")
