from tortoise import migrations
from tortoise.migrations import operations as ops
from legacy_app.models.async_tournament import RaceStatus, ReviewStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='AsyncQualifier',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='async_qualifiers', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('hide_results', fields.BooleanField(default=False)),
                ('discord_channel_id', fields.BigIntField(null=True, unique=True)),
                ('runs_per_pool', fields.IntField(default=1)),
                ('max_reattempts', fields.IntField(default=-1)),
            ],
            options={'table': 'async_qualifiers', 'app': 'async_qualifier', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AsyncQualifierAuditLog',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('qualifier', fields.ForeignKeyField('async_qualifier.AsyncQualifier', source_field='qualifier_id', db_constraint=True, to_field='id', related_name='audit_logs', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='async_qualifier_audit_logs', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=50)),
                ('details', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'async_qualifier_audit_logs', 'app': 'async_qualifier', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AsyncQualifierPool',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('qualifier', fields.ForeignKeyField('async_qualifier.AsyncQualifier', source_field='qualifier_id', db_constraint=True, to_field='id', related_name='pools', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'async_qualifier_pools', 'app': 'async_qualifier', 'unique_together': (('qualifier', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AsyncQualifierPermalink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pool', fields.ForeignKeyField('async_qualifier.AsyncQualifierPool', source_field='pool_id', db_constraint=True, to_field='id', related_name='permalinks', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2000)),
                ('notes', fields.TextField(default='', unique=False)),
                ('par_time', fields.FloatField(null=True)),
                ('par_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'async_qualifier_permalinks', 'app': 'async_qualifier', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AsyncQualifierRace',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('qualifier', fields.ForeignKeyField('async_qualifier.AsyncQualifier', source_field='qualifier_id', db_constraint=True, to_field='id', related_name='races', on_delete=OnDelete.CASCADE)),
                ('permalink', fields.ForeignKeyField('async_qualifier.AsyncQualifierPermalink', source_field='permalink_id', db_constraint=True, to_field='id', related_name='races', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name='async_qualifier_races', on_delete=OnDelete.CASCADE)),
                ('discord_thread_id', fields.BigIntField(null=True, db_index=True)),
                ('thread_open_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('thread_timeout_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('start_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=RaceStatus.PENDING, description='PENDING: pending\nIN_PROGRESS: in_progress\nFINISHED: finished\nFORFEIT: forfeit\nDISQUALIFIED: disqualified', enum_type=RaceStatus, max_length=20)),
                ('reattempted', fields.BooleanField(default=False)),
                ('runner_notes', fields.TextField(null=True, unique=False)),
                ('runner_vod_url', fields.CharField(null=True, max_length=2000)),
                ('score', fields.FloatField(null=True)),
                ('score_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('review_status', fields.CharEnumField(default=ReviewStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=ReviewStatus, max_length=20)),
                ('reviewed_by', fields.ForeignKeyField('core.User', source_field='reviewed_by_id', null=True, db_constraint=True, to_field='id', related_name='async_qualifier_reviews', on_delete=OnDelete.SET_NULL)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reviewer_notes', fields.TextField(null=True, unique=False)),
                ('review_requested_by_user', fields.BooleanField(default=False)),
                ('review_request_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'async_qualifier_races', 'app': 'async_qualifier', 'indexes': [Index(fields=['qualifier_id', 'user_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
