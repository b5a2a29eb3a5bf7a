"""personal accounts only their owners control: session versions, password links, school
invitations, no live links kept in sent emails

Revision ID: b7c1d2e3f4a5
Revises: 80cf1c1141bc
Create Date: 2026-11-28 16:45:00

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1d2e3f4a5'
down_revision = '80cf1c1141bc'
branch_labels = None
depends_on = None

_LIVE_LINK = re.compile(r"https?://\S+?/(?:invitations|password/reset)/[A-Za-z0-9_-]+")


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_role', sa.String(length=20), nullable=True))
        batch_op.create_check_constraint(
            'account_role', "account_role IS NULL OR account_role IN ('admin', 'staff', 'member')")
    op.create_table('password_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('reset', 'setup')", name=op.f('ck_password_link_purpose')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_password_link_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_link')),
    sa.UniqueConstraint('request_key', name=op.f('uq_password_link_request_key')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_link_token_hash'))
    )
    with op.batch_alter_table('password_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_link_user_id'), ['user_id'], unique=False)

    # Sent emails kept live invitation links that admins could read: hide them.
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, body FROM sent_email WHERE body LIKE '%/invitations/%'")).all()
    for row_id, body in rows:
        conn.execute(sa.text("UPDATE sent_email SET body = :body WHERE id = :id"),
                     {"body": _LIVE_LINK.sub("[link hidden]", body), "id": row_id})


def downgrade():
    with op.batch_alter_table('password_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_link_user_id'))
    op.drop_table('password_link')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint('account_role', type_='check')
        batch_op.drop_column('account_role')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
