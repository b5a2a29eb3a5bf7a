"""submission versions and review rounds: updates keep their waiting time, resubmitting after a
review opens a new round

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7b8c9d0e1f2'
down_revision = 'f6a7b8c9d0e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1',
                                      nullable=False))
    op.create_table(
        'submission_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                                name=op.f('fk_submission_version_submission_id_submission'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_version')),
        sa.UniqueConstraint('submission_id', 'number', name='uq_submission_version_number'),
    )
    # Every existing submission was one text, submitted once: its version 1 of round 1.
    op.execute("INSERT INTO submission_version (submission_id, number, round, content, "
               "created_at) SELECT id, 1, 1, content, submitted_at FROM submission")
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.drop_constraint('uq_review_submission_id', type_='unique')
        batch_op.create_unique_constraint('uq_review_submission_round',
                                          ['submission_id', 'round'])


def downgrade():
    # Keeps each submission's latest review and its latest text, as the schema before held.
    op.execute("DELETE FROM review WHERE round < (SELECT s.round FROM submission s "
               "WHERE s.id = review.submission_id)")
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_constraint('uq_review_submission_round', type_='unique')
        batch_op.create_unique_constraint('uq_review_submission_id', ['submission_id'])
        batch_op.drop_column('round')
    op.drop_table('submission_version')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('round')
        batch_op.drop_column('updated_at')
