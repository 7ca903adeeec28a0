from django.db import migrations, models

# Stages of the seed presets that are legal enforcement (penalty warnings and notices, legal
# action); every stage of the "penalty" track is too.
ENFORCEMENT_KEYS = ["lap-letter-3", "lap-letter-3-declining", "chw-pn-monitoring", "chw-la-referral",
                    "stl-warning", "stl-fpn"]


def mark_enforcement(apps, schema_editor):
    Stage = apps.get_model("escalation", "Stage")
    Stage.objects.filter(models.Q(track="penalty") | models.Q(key__in=ENFORCEMENT_KEYS)).update(enforcement=True)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0004_leaner_snapshots")]

    operations = [
        migrations.AddField(
            model_name="stage",
            name="enforcement",
            field=models.BooleanField(
                default=False,
                help_text="Legal enforcement (penalty warnings and notices, legal action): only for pupils of "
                          "compulsory school age, counting sessions from the day they reached it"),
        ),
        migrations.RunPython(mark_enforcement, migrations.RunPython.noop),
    ]
