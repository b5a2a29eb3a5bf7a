"""indexes for the paged screens: review queue, notifications, People

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-11-30 17:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    # Each serves a list's ORDER BY ... LIMIT, so a page is read from the index instead of
    # sorting every row of the school (EXPLAIN ANALYZE in bench/screens.py's data set).
    op.create_index('ix_submission_account_status_submitted', 'submission',
                    ['account_id', 'status', 'submitted_at'])
    op.create_index('ix_notification_user_account_created', 'notification',
                    ['user_id', 'account_id', 'created_at'])
    op.create_index('ix_account_membership_account_created', 'account_membership',
                    ['account_id', 'created_at'])


def downgrade():
    op.drop_index('ix_account_membership_account_created', table_name='account_membership')
    op.drop_index('ix_notification_user_account_created', table_name='notification')
    op.drop_index('ix_submission_account_status_submitted', table_name='submission')
