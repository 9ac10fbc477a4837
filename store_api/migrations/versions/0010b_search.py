"""Search: index generation, synonyms, daily search counts, products.search_generation

Revision ID: 0010b
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store_api.db

revision: str = "0010b"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    state = op.create_table(
        "search_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_state")),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 1}])
    op.create_table(
        "search_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("created_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", store_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonyms")),
        sa.UniqueConstraint("key", name=op.f("uq_search_synonyms_key")),
    )
    op.create_table(
        "search_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("no_result_searches", sa.Integer(), nullable=False),
        sa.Column("corrected_searches", sa.Integer(), nullable=False),
        sa.Column("correction", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("day", "term", "role", name=op.f("pk_search_days")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_generation", sa.BigInteger(), nullable=False, server_default="1")
        )
        batch_op.create_index(
            batch_op.f("ix_products_search_generation"), ["search_generation"], unique=False
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.alter_column("search_generation", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_search_generation"))
        batch_op.drop_column("search_generation")
    op.drop_table("search_days")
    op.drop_table("search_synonyms")
    op.drop_table("search_state")
