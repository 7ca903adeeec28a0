"""Pupil history (issue 11.3): an append-only log written by triggers, and a roll-date guard.

- registers_pupil_history_log(): AFTER INSERT/UPDATE/DELETE on registers_pupil and
  registers_contact, one registers_pupilhistory row per changed column (the contact's name
  in the field), with the source and person from the transaction's settings
  attendance.history_source / history_user_id / history_user_name (set_config(..., true),
  see registers.pupils.history_context); "system" when unset.
- registers_pupilhistory refuses UPDATE, DELETE and TRUNCATE, like the marks trail.
- registers_pupil_roll_guard(): refuses moving an admission date later than, or a leaving
  date earlier than, one of the pupil's marks (the import and forms check first and name
  the marks; this is the backstop for every other path).
"""

import django.db.models.constraints
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION registers_pupil_history_log() RETURNS trigger AS $$
DECLARE
    src text := coalesce(nullif(current_setting('attendance.history_source', true), ''), 'system');
    uid bigint := nullif(current_setting('attendance.history_user_id', true), '')::bigint;
    uname text := coalesce(current_setting('attendance.history_user_name', true), '');
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    pid bigint;
    prefix text := '';
    summary text;
BEGIN
    IF TG_TABLE_NAME = 'registers_contact' THEN
        pid := coalesce(new_row, old_row) ->> 'pupil_id';
        prefix := 'contact ' || concat_ws(' ', coalesce(new_row, old_row) ->> 'forename',
                                          coalesce(new_row, old_row) ->> 'surname');
        summary := concat_ws(', ', coalesce(new_row, old_row) ->> 'relationship',
                             'priority ' || (coalesce(new_row, old_row) ->> 'priority'),
                             nullif(coalesce(new_row, old_row) ->> 'mobile', ''),
                             nullif(coalesce(new_row, old_row) ->> 'phone', ''),
                             nullif(coalesce(new_row, old_row) ->> 'email', ''));
    ELSE
        pid := coalesce(new_row, old_row) ->> 'id';
        prefix := 'record';
        summary := concat_ws(' ', coalesce(new_row, old_row) ->> 'legal_forename',
                             coalesce(new_row, old_row) ->> 'legal_surname',
                             coalesce(new_row, old_row) ->> 'upn');
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO registers_pupilhistory (pupil_id, at, source, user_id, user_name, field,
                                            old_value, new_value)
        VALUES (pid, now(), src, uid, uname, prefix, '', 'added: ' || summary);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO registers_pupilhistory (pupil_id, at, source, user_id, user_name, field,
                                            old_value, new_value)
        VALUES (pid, now(), src, uid, uname, prefix, summary, 'removed');
    ELSE
        INSERT INTO registers_pupilhistory (pupil_id, at, source, user_id, user_name, field,
                                            old_value, new_value)
        SELECT pid, now(), src, uid, uname,
               CASE WHEN prefix = 'record' THEN n.key ELSE prefix || ': ' || n.key END,
               coalesce(old_row ->> n.key, ''), coalesce(n.value #>> '{}', '')
        FROM jsonb_each(new_row) n
        WHERE n.key NOT IN ('id', 'pupil_id', 'photo')
          AND n.value IS DISTINCT FROM old_row -> n.key;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pupil_history AFTER INSERT OR UPDATE OR DELETE ON registers_pupil
    FOR EACH ROW EXECUTE FUNCTION registers_pupil_history_log();
CREATE TRIGGER contact_history AFTER INSERT OR UPDATE OR DELETE ON registers_contact
    FOR EACH ROW EXECUTE FUNCTION registers_pupil_history_log();

CREATE OR REPLACE FUNCTION registers_pupilhistory_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pupil history is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pupilhistory_no_update_delete
    BEFORE UPDATE OR DELETE ON registers_pupilhistory
    FOR EACH ROW EXECUTE FUNCTION registers_pupilhistory_append_only();
CREATE TRIGGER pupilhistory_no_truncate
    BEFORE TRUNCATE ON registers_pupilhistory
    FOR EACH STATEMENT EXECUTE FUNCTION registers_pupilhistory_append_only();

CREATE OR REPLACE FUNCTION registers_pupil_roll_guard() RETURNS trigger AS $$
DECLARE
    outside int;
BEGIN
    SELECT count(*) INTO outside FROM registers_mark
    WHERE pupil_id = NEW.id
      AND (date < NEW.admission_date OR date > coalesce(NEW.leaving_date, 'infinity'::date));
    IF outside > 0 THEN
        RAISE EXCEPTION 'pupil % has % mark(s) outside % to %', NEW.upn, outside,
            NEW.admission_date, coalesce(NEW.leaving_date::text, 'now')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pupil_roll_guard BEFORE UPDATE OF admission_date, leaving_date ON registers_pupil
    FOR EACH ROW
    WHEN (NEW.admission_date > OLD.admission_date
          OR coalesce(NEW.leaving_date, 'infinity'::date) < coalesce(OLD.leaving_date, 'infinity'::date))
    EXECUTE FUNCTION registers_pupil_roll_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS pupil_roll_guard ON registers_pupil;
DROP FUNCTION IF EXISTS registers_pupil_roll_guard();
DROP TRIGGER IF EXISTS pupil_history ON registers_pupil;
DROP TRIGGER IF EXISTS contact_history ON registers_contact;
DROP FUNCTION IF EXISTS registers_pupil_history_log();
DROP TRIGGER IF EXISTS pupilhistory_no_update_delete ON registers_pupilhistory;
DROP TRIGGER IF EXISTS pupilhistory_no_truncate ON registers_pupilhistory;
DROP FUNCTION IF EXISTS registers_pupilhistory_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('registers', '0006_mark_autovacuum'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PupilHistory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('source', models.CharField(max_length=20)),
                ('user_name', models.CharField(blank=True, max_length=150)),
                ('field', models.CharField(max_length=250)),
                ('old_value', models.TextField(blank=True)),
                ('new_value', models.TextField(blank=True)),
            ],
            options={
                'verbose_name_plural': 'pupil history',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='contact',
            name='unique_contact_priority',
        ),
        migrations.AddConstraint(
            model_name='contact',
            constraint=models.UniqueConstraint(deferrable=django.db.models.constraints.Deferrable['DEFERRED'], fields=('pupil', 'priority'), name='unique_contact_priority'),
        ),
        migrations.AddField(
            model_name='pupilhistory',
            name='pupil',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='history', to='registers.pupil'),
        ),
        migrations.AddField(
            model_name='pupilhistory',
            name='user',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='pupilhistory',
            index=models.Index(fields=['pupil', 'at'], name='registers_p_pupil_i_9392af_idx'),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
