"""Prices on sales: unit prices and totals on orders and committed holds; stock refusals

Revision ID: 0015
Revises: 0013

Orders and holds committed before this migration get the catalogue price of the day it runs
(an approximation: the price they were really sold at was never recorded); their
``price_estimated`` is true so reports can say so (docs/sales.md).

The NOT NULL money columns are added with a DEFAULT 0 and filled at once: SQLite cannot make a
column NOT NULL without copying the table, and copying ``orders`` (which order lines and holds
reference) would trip the foreign keys. PostgreSQL drops the default afterwards; on SQLite it
stays, unused (the code always sets these columns).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store_api.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=12, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("total", MONEY, server_default="0", nullable=False))
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.add_column(sa.Column("unit_price", MONEY, server_default="0", nullable=False))
        batch_op.add_column(sa.Column("line_total", MONEY, server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("price_estimated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("reservations") as batch_op:
        batch_op.add_column(sa.Column("unit_price", MONEY, nullable=True))
        batch_op.add_column(sa.Column("total", MONEY, nullable=True))
        batch_op.add_column(
            sa.Column("price_estimated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.execute(
        "UPDATE order_lines SET unit_price = (SELECT products.price FROM products "
        "WHERE products.id = order_lines.product_id), line_total = quantity * (SELECT "
        "products.price FROM products WHERE products.id = order_lines.product_id), "
        "price_estimated = true"
    )
    op.execute(
        "UPDATE orders SET total = COALESCE((SELECT SUM(order_lines.line_total) FROM order_lines "
        "WHERE order_lines.order_id = orders.id), 0)"
    )
    op.execute(
        "UPDATE reservations SET unit_price = (SELECT products.price FROM products "
        "WHERE products.id = reservations.product_id), total = quantity * (SELECT "
        "products.price FROM products WHERE products.id = reservations.product_id), "
        "price_estimated = true WHERE status = 'committed'"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("orders", "total", server_default=None)
        op.alter_column("order_lines", "unit_price", server_default=None)
        op.alter_column("order_lines", "line_total", server_default=None)

    op.create_table(
        "stock_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refused_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("other_channel", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_refusals")),
    )
    op.create_index("ix_stock_refusals_refused_at", "stock_refusals", ["refused_at"])


def downgrade() -> None:
    op.drop_index("ix_stock_refusals_refused_at", table_name="stock_refusals")
    op.drop_table("stock_refusals")
    with op.batch_alter_table("reservations") as batch_op:
        batch_op.drop_column("price_estimated")
        batch_op.drop_column("total")
        batch_op.drop_column("unit_price")
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.drop_column("price_estimated")
        batch_op.drop_column("line_total")
        batch_op.drop_column("unit_price")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("total")
