"""school API tokens, and the token an audit event was made with (an invitation sent by)

Revision ID: api1a2b3c4d5
Revises: d0e1f2a3b4c5
Create Date: 2026-12-06 20:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'api1a2b3c4d5'
down_revision = 'd0e1f2a3b4c5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f('ck_api_token_scope')),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_api_token_account_id_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_api_token_created_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_api_token_secret_hash')),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index('ix_api_token_account_created', ['account_id', 'created_at'],
                              unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_token_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_api_token_id_api_token'),
                                    'api_token', ['api_token_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invited_by_token_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitation_invited_by_token_id_api_token'),
                                    'api_token', ['invited_by_token_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitation_invited_by_token_id_api_token'),
                                 type_='foreignkey')
        batch_op.drop_column('invited_by_token_id')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_event_api_token_id_api_token'),
                                 type_='foreignkey')
        batch_op.drop_column('api_token_id')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index('ix_api_token_account_created')
    op.drop_table('api_token')
