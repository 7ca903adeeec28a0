"""Vacuum and analyse the marks table after 2% of it changes, not PostgreSQL's default 20%.

A school's marks table gains about 380 rows a day and is rarely updated in bulk, so with the
defaults autovacuum would hardly ever visit it. Meanwhile every N that becomes O (or is given
a reason) leaves a dead entry in the partial index of unexplained marks, which the nightly
job's N -> O step then has to step over, and the planner's idea of how many N marks there
are drifts.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('registers', '0005_fewer_mark_indexes'),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE registers_mark SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.02)",
            "ALTER TABLE registers_mark RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_analyze_scale_factor)",
        ),
    ]
