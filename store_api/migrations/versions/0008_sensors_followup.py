"""Shelf sensors, follow-up: shelf movements, shelf vs system discrepancies, footfall index

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store_api.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shelf_lanes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("counting_since", store_api.db.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "shelf_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("shelf", sa.String(length=64), nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("ts", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("units_after", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelf_movements")),
    )
    with op.batch_alter_table("shelf_movements", schema=None) as batch_op:
        batch_op.create_index("ix_shelf_movements_store_ts", ["store", "ts"], unique=False)

    op.create_table(
        "shelf_discrepancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("lanes", sa.JSON(), nullable=False),
        sa.Column("window_start", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("put_back", sa.Integer(), nullable=False),
        sa.Column("accounted", sa.Integer(), nullable=False),
        sa.Column("difference", sa.Integer(), nullable=False),
        sa.Column("raised_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", store_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelf_discrepancies")),
        sa.UniqueConstraint(
            "store", "sku", "window_start", name=op.f("uq_shelf_discrepancies_store")
        ),
    )
    with op.batch_alter_table("shelf_discrepancies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shelf_discrepancies_sku"), ["sku"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shelf_discrepancies_window_start"), ["window_start"], unique=False
        )

    op.create_table(
        "shelf_discrepancy_feed",
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("evaluated_until", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store", name=op.f("pk_shelf_discrepancy_feed")),
    )

    # Footfall per hour: a store's door events by time. Partial, so weight events (thousands a
    # minute) do not pay for it.
    with op.batch_alter_table("sensor_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sensor_events_footfall",
            ["store", "ts"],
            unique=False,
            sqlite_where=sa.text("kind = 'footfall'"),
            postgresql_where=sa.text("kind = 'footfall'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sensor_events", schema=None) as batch_op:
        batch_op.drop_index("ix_sensor_events_footfall")
    op.drop_table("shelf_discrepancy_feed")
    with op.batch_alter_table("shelf_discrepancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shelf_discrepancies_window_start"))
        batch_op.drop_index(batch_op.f("ix_shelf_discrepancies_sku"))
    op.drop_table("shelf_discrepancies")
    with op.batch_alter_table("shelf_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_shelf_movements_store_ts")
    op.drop_table("shelf_movements")
    with op.batch_alter_table("shelf_lanes", schema=None) as batch_op:
        batch_op.drop_column("counting_since")
