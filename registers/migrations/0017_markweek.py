"""Marks counted by pupil, week and code (issue 18.4): registers_markweek, kept by triggers.

Three AFTER ... FOR EACH STATEMENT triggers on registers_mark (insert, update, delete) read the
statement's transition tables and add rows of changes to registers_markweek: per pupil, week
(Monday) and code, the marks added (+1) and removed (-1), split by session and day of the
week. Only inserts: no row is locked, so two saves of the same pupils' week never wait for
each other or deadlock. Every write path is counted, raw SQL and COPY included, in the same
transaction as the marks. The existing marks are counted here, after the triggers exist, in
the same transaction (which holds the marks' table against writes until it commits).
"""

from django.db import migrations, models

_WEEK = "(DATE '2000-01-03' + 7 * ((date - DATE '2000-01-03') / 7))"
_DOW = "(MOD(date - DATE '2000-01-03', 7) + 1)"
_SLOTS = [("am", "session = 'AM'"), ("pm", "session = 'PM'")] + [
    (f"d{d}", f"{_DOW} = {d}") for d in range(1, 8)]
_COLS = ["n", "mins"] + [f"{x}_{slot}" for slot, _ in _SLOTS for x in ("n", "mins")]
_SUMS = ["SUM(sg)", "SUM(sg * COALESCE(minutes_late, 0))"] + [
    f"COALESCE(SUM({x}) FILTER (WHERE {cond}), 0)" for _, cond in _SLOTS
    for x in ("sg", "sg * COALESCE(minutes_late, 0)")]


def _add(source: str) -> str:
    """Add the counts of ``source`` (rows of marks with a sign ``sg``) as rows of changes; an
    update that changed nothing counted (only who and when) adds none."""
    return f"""
INSERT INTO registers_markweek (pupil_id, week, code, {', '.join(_COLS)})
SELECT pupil_id, {_WEEK} AS week, code, {', '.join(_SUMS)}
FROM ({source}) d GROUP BY 1, 2, 3
HAVING {' OR '.join(f'{s} <> 0' for s in _SUMS)};"""


_ROWS = "SELECT pupil_id, date, session, code, minutes_late, {sign} AS sg FROM {table}"
_SOURCES = {
    "insert": _ROWS.format(sign=1, table="new_marks"),
    "update": _ROWS.format(sign=1, table="new_marks") + " UNION ALL "
              + _ROWS.format(sign=-1, table="old_marks"),
    "delete": _ROWS.format(sign=-1, table="old_marks"),
}
_REFERENCING = {"insert": "NEW TABLE AS new_marks",
                "update": "OLD TABLE AS old_marks NEW TABLE AS new_marks",
                "delete": "OLD TABLE AS old_marks"}

FORWARD = "".join(f"""
CREATE FUNCTION registers_markweek_{op}() RETURNS trigger AS $$
BEGIN
{_add(source)}
RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER markweek_{op} AFTER {op.upper()} ON registers_mark
    REFERENCING {_REFERENCING[op]} FOR EACH STATEMENT EXECUTE FUNCTION registers_markweek_{op}();
""" for op, source in _SOURCES.items()) + _add(_ROWS.format(sign=1, table="registers_mark"))

BACKWARD = "".join(f"""
DROP TRIGGER IF EXISTS markweek_{op} ON registers_mark;
DROP FUNCTION IF EXISTS registers_markweek_{op}();""" for op in _SOURCES)



class Migration(migrations.Migration):

    dependencies = [
        ('registers', '0016_pupil_ethnicity'),
    ]

    operations = [
        migrations.CreateModel(
            name='MarkWeek',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('pupil_id', models.BigIntegerField()),
                ('week', models.DateField()),
                ('code', models.CharField(max_length=2)),
                ('n', models.IntegerField(default=0)),
                ('mins', models.IntegerField(default=0)),
                ('n_am', models.IntegerField(default=0)),
                ('mins_am', models.IntegerField(default=0)),
                ('n_pm', models.IntegerField(default=0)),
                ('mins_pm', models.IntegerField(default=0)),
                ('n_d1', models.IntegerField(default=0)),
                ('mins_d1', models.IntegerField(default=0)),
                ('n_d2', models.IntegerField(default=0)),
                ('mins_d2', models.IntegerField(default=0)),
                ('n_d3', models.IntegerField(default=0)),
                ('mins_d3', models.IntegerField(default=0)),
                ('n_d4', models.IntegerField(default=0)),
                ('mins_d4', models.IntegerField(default=0)),
                ('n_d5', models.IntegerField(default=0)),
                ('mins_d5', models.IntegerField(default=0)),
                ('n_d6', models.IntegerField(default=0)),
                ('mins_d6', models.IntegerField(default=0)),
                ('n_d7', models.IntegerField(default=0)),
                ('mins_d7', models.IntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['week'], name='registers_m_week_a37777_idx')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
