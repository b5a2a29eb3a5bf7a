"""drift days per school: after how long without progress a member is drifting

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f6a7b8c9d0'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drift_days', sa.Integer(), server_default='14',
                                      nullable=False))
        batch_op.create_check_constraint('drift_days', 'drift_days BETWEEN 1 AND 365')


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint('ck_account_drift_days', type_='check')
        batch_op.drop_column('drift_days')
