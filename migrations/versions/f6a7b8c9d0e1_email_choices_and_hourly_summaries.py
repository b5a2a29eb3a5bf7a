"""email choices per person, school and kind; hourly summaries and their items

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f6a7b8c9d0e1'
down_revision = 'e5f6a7b8c9d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('cadence', sa.String(length=12), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cadence IN ('immediately', 'hourly', 'off')", name=op.f('ck_email_choice_cadence')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_choice_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_email_choice_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_choice')),
    sa.UniqueConstraint('user_id', 'account_id', 'kind', name=op.f('uq_email_choice_user_id'))
    )
    with op.batch_alter_table('email_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_choice_account_id'), ['account_id'], unique=False)
    op.create_table('email_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'staged', 'sent', 'skipped')", name=op.f('ck_email_summary_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_summary_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_email_summary_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_summary')),
    sa.UniqueConstraint('account_id', 'user_id', 'kind', 'hour', name=op.f('uq_email_summary_account_id'))
    )
    with op.batch_alter_table('email_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_summary_user_id'), ['user_id'], unique=False)
    op.create_table('email_summary_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_summary_item_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['summary_id'], ['email_summary.id'], name=op.f('fk_email_summary_item_summary_id_email_summary'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_email_summary_item_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_summary_item')),
    sa.UniqueConstraint('key', name=op.f('uq_email_summary_item_key'))
    )
    # The periodic task: items not yet in a summary, oldest first.
    op.create_index('ix_email_summary_item_waiting', 'email_summary_item',
                    ['summary_id', 'account_id', 'created_at'])


def downgrade():
    op.drop_index('ix_email_summary_item_waiting', table_name='email_summary_item')
    op.drop_table('email_summary_item')
    with op.batch_alter_table('email_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_summary_user_id'))
    op.drop_table('email_summary')
    with op.batch_alter_table('email_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_choice_account_id'))
    op.drop_table('email_choice')
