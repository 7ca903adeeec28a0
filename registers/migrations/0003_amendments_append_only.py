"""Make the amendment trail append-only at the database level (docs/domain.md section 9).

A trigger rejects UPDATE, DELETE and TRUNCATE on registers_markamendment, so a row
can be added but never rewritten, whatever path the change comes by (ORM or raw SQL).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION registers_amendment_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'register amendments are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER amendment_no_update_delete
    BEFORE UPDATE OR DELETE ON registers_markamendment
    FOR EACH ROW EXECUTE FUNCTION registers_amendment_append_only();
CREATE TRIGGER amendment_no_truncate
    BEFORE TRUNCATE ON registers_markamendment
    FOR EACH STATEMENT EXECUTE FUNCTION registers_amendment_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS amendment_no_update_delete ON registers_markamendment;
DROP TRIGGER IF EXISTS amendment_no_truncate ON registers_markamendment;
DROP FUNCTION IF EXISTS registers_amendment_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("registers", "0002_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
