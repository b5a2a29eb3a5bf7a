"""group membership: who added the person (for the members report)

Revision ID: b7c3e1d2a9f0
Revises: b7c1d2e3f4a5
Create Date: 2026-11-28 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c3e1d2a9f0'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_group_membership_added_by_id_user_account'),
                                    'user_account', ['added_by_id'], ['id'], ondelete='SET NULL')
    # Memberships that exist already: the audit log knows who added each person, and an
    # accepted invitation who invited them.
    op.execute("""
        UPDATE group_membership SET added_by_id = (
            SELECT audit_event.actor_id FROM audit_event
            WHERE audit_event.action = 'member.add'
              AND audit_event.group_id = group_membership.group_id
              AND audit_event.subject_user_id = group_membership.user_id
            ORDER BY audit_event.created_at DESC, audit_event.id DESC LIMIT 1)
        WHERE added_by_id IS NULL
    """)
    op.execute("""
        UPDATE group_membership SET added_by_id = (
            SELECT invitation.invited_by_id FROM invitation
            WHERE invitation.status = 'accepted'
              AND invitation.group_id = group_membership.group_id
              AND invitation.accepted_by_id = group_membership.user_id
            ORDER BY invitation.accepted_at DESC, invitation.id DESC LIMIT 1)
        WHERE added_by_id IS NULL
    """)


def downgrade():
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_group_membership_added_by_id_user_account'),
                                 type_='foreignkey')
        batch_op.drop_column('added_by_id')
