"""the outbox decides retries: leases, next attempt, every error, dead rows; email claims
with an expiry, a stable Message-ID and the reason of a failed send

Revision ID: c3d9e1a7b642
Revises: b7c3e1d2a9f0
Create Date: 2026-11-29 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9e1a7b642'
down_revision = 'b7c3e1d2a9f0'
branch_labels = None
depends_on = None

OLD_JOB = "status IN ('staged', 'enqueued', 'done', 'failed')"
NEW_JOB = "status IN ('staged', 'enqueued', 'running', 'failed', 'dead', 'done')"
OLD_EMAIL = "status IN ('sending', 'sent', 'logged')"
NEW_EMAIL = "status IN ('sending', 'sent', 'logged', 'failed', 'dead')"


def upgrade():
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_job_status'), type_='check')
        batch_op.add_column(sa.Column('pushes', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('errors', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('give_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE outbox_job SET next_attempt_at = created_at")
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('pushes', server_default=None)
        batch_op.alter_column('errors', server_default=None)
        batch_op.create_check_constraint('status', NEW_JOB)
        batch_op.create_index('ix_outbox_job_status_next_attempt',
                              ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('sent_email', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sent_email_status'), type_='check')
        batch_op.add_column(sa.Column('message_id', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('outbox_job_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('sent_email', schema=None) as batch_op:
        batch_op.alter_column('attempts', server_default=None)
        batch_op.create_check_constraint('status', NEW_EMAIL)
        batch_op.create_index(batch_op.f('ix_sent_email_outbox_job_id'), ['outbox_job_id'],
                              unique=False)


def downgrade():
    op.execute("DELETE FROM sent_email WHERE status IN ('failed', 'dead')")
    with op.batch_alter_table('sent_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_email_outbox_job_id'))
        batch_op.drop_constraint(op.f('ck_sent_email_status'), type_='check')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('outbox_job_id')
        batch_op.drop_column('message_id')
        batch_op.create_check_constraint('status', OLD_EMAIL)

    op.execute("UPDATE outbox_job SET status = 'failed' WHERE status = 'dead'")
    op.execute("UPDATE outbox_job SET status = 'staged' WHERE status = 'running'")
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_job_status_next_attempt')
        batch_op.drop_constraint(op.f('ck_outbox_job_status'), type_='check')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('give_up_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('errors')
        batch_op.drop_column('pushes')
        batch_op.create_check_constraint('status', OLD_JOB)
