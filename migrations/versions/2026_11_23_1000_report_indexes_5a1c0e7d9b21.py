"""report indexes: an agency's people by unit, module completions by course

Revision ID: 5a1c0e7d9b21
Revises: f84ef44ec257
Create Date: 2026-11-23 10:00:00.000000

Measured in docs/benchmarks.md ("Reports at national scale"): with a million learners the
agency report read every enrolment and every learning event of the course; with these two
covering indexes it reads only the agency's index entries.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '5a1c0e7d9b21'
down_revision: str | None = 'f84ef44ec257'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(
            'ix_user_agency_id_active_work_unit',
            ['agency_id', 'active', 'work_unit', 'id'],
            unique=False,
        )

    with op.batch_alter_table('learning_event', schema=None) as batch_op:
        batch_op.create_index(
            'ix_learning_event_course_id_kind_user_id',
            ['course_id', 'kind', 'user_id', 'subject', 'at'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('learning_event', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_event_course_id_kind_user_id')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_agency_id_active_work_unit')
