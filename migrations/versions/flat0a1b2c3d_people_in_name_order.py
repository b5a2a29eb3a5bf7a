"""a group's people read in name order and counted by role from indexes

Revision ID: flat0a1b2c3d
Revises: scim1a2b3c4d5
Create Date: 2026-12-06 21:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'flat0a1b2c3d'
down_revision = 'scim1a2b3c4d5'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':  # SQLite cannot reflect it (the models say so)
        op.create_index('ix_user_account_name_order', 'user_account',
                        [sa.text('lower(full_name)'), 'id'], unique=False)
    op.create_index('ix_group_membership_group_role', 'group_membership',
                    ['group_id', 'role', 'user_id'], unique=False)


def downgrade():
    op.drop_index('ix_group_membership_group_role', table_name='group_membership')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_user_account_name_order', table_name='user_account')
