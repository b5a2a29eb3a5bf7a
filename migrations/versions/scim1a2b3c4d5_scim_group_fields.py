"""SCIM provisioning: a group's external id at the identity provider and its SCIM revision
(the API token an invitation was sent by comes with the tokens, in api1a2b3c4d5)

Revision ID: scim1a2b3c4d5
Revises: api1a2b3c4d5
Create Date: 2026-12-06 21:05:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'scim1a2b3c4d5'
down_revision = 'api1a2b3c4d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mentor_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scim_external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('scim_revision', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('mentor_group', schema=None) as batch_op:
        batch_op.drop_column('scim_revision')
        batch_op.drop_column('scim_external_id')
