"""a discussion on every submission

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8c9d0e1f2a3'
down_revision = 'a7b8c9d0e1f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_submission_message_author_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_submission_message_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_message'))
    )
    with op.batch_alter_table('submission_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_message_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_submission_message_submission_created', ['submission_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_message', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_message_submission_created')
        batch_op.drop_index(batch_op.f('ix_submission_message_author_id'))

    op.drop_table('submission_message')
