"""restore generation kept in platform_state and carried by certificate numbers; certificate ids never reused

Revision ID: ac58bd548ccc
Revises: 660a2f7762f1
Create Date: 2026-12-07 12:00:52.480697
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'ac58bd548ccc'
down_revision: str | None = '660a2f7762f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'platform_state',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_platform_state')),
    )
    # SQLite: the table is rebuilt with AUTOINCREMENT, so that a restore can move the next
    # certificate id past every id the issuance log has seen (ids are status-list indexes)
    with op.batch_alter_table(
        'certificate', recreate='auto', table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.add_column(
            sa.Column('generation', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.drop_constraint(batch_op.f('uq_certificate_year_serial'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_certificate_generation_year_serial'), ['generation', 'year', 'serial']
        )
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'certificate'")
        op.execute(
            "INSERT INTO sqlite_sequence (name, seq) "
            "SELECT 'certificate', coalesce(max(id), 0) FROM certificate"
        )


def downgrade() -> None:
    with op.batch_alter_table('certificate', recreate='auto') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_certificate_generation_year_serial'), type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_certificate_year_serial'), ['year', 'serial']
        )
        batch_op.drop_column('generation')
    op.drop_table('platform_state')
