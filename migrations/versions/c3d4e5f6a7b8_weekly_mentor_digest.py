"""weekly mentor digest: subscriptions, runs, deliveries, school send time

Revision ID: c3d4e5f6a7b8
Revises: c3d9e1a7b642
Create Date: 2026-11-28 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a7b8'
down_revision = 'c3d9e1a7b642'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_weekday', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('digest_hour', sa.Integer(), server_default='8',
                                      nullable=False))
        batch_op.create_check_constraint('digest_weekday', 'digest_weekday BETWEEN 0 AND 6')
        batch_op.create_check_constraint('digest_hour', 'digest_hour BETWEEN 0 AND 23')
    op.create_table('digest_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['mentor_group.id'], name=op.f('fk_digest_subscription_group_id_mentor_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_digest_subscription_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_subscription')),
    sa.UniqueConstraint('user_id', 'group_id', name=op.f('uq_digest_subscription_user_id'))
    )
    with op.batch_alter_table('digest_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_subscription_group_id'), ['group_id'], unique=False)
    op.create_table('digest_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_digest_run_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_run')),
    sa.UniqueConstraint('account_id', 'week', name=op.f('uq_digest_run_account_id'))
    )
    op.create_table('digest_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('text_body', sa.Text(), nullable=True),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('unsubscribe_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'staged', 'sent', 'skipped')", name=op.f('ck_digest_delivery_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_digest_delivery_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_digest_delivery_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_delivery')),
    sa.UniqueConstraint('account_id', 'user_id', 'week', name=op.f('uq_digest_delivery_account_id'))
    )
    with op.batch_alter_table('digest_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_delivery_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('digest_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_delivery_user_id'))
    op.drop_table('digest_delivery')
    op.drop_table('digest_run')
    with op.batch_alter_table('digest_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_subscription_group_id'))
    op.drop_table('digest_subscription')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint('digest_hour', type_='check')
        batch_op.drop_constraint('digest_weekday', type_='check')
        batch_op.drop_column('digest_hour')
        batch_op.drop_column('digest_weekday')
