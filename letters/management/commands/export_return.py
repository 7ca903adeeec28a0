"""README.md: export_return --schema S --kind K --as-of D --format json|csv."""

from datetime import date

from django.core.management.base import CommandError

from letters import returns
from registers.exports import to_csv, to_json
from registers.management.commands._base import SchoolCommand


def iso(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD)", returncode=2) from None


class Command(SchoolCommand):
    help = ("A statutory return as it stands on --as-of (docs/domain.md section 7): one record per "
            "pupil with UPN, names, address and the evidence (dates, sessions, codes). "
            "--kind census prints the census totals of a term (--term, default: the term of "
            "--as-of).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--kind", required=True, choices=returns.KINDS + ["census"])
        parser.add_argument("--as-of", dest="as_of", type=iso, required=True)
        parser.add_argument("--from", dest="date_from", type=iso,
                            help="start of the return period (default: the school year)")
        parser.add_argument("--term", choices=["autumn", "spring", "summer"])
        parser.add_argument("--format", choices=["json", "csv"], required=True)
        parser.add_argument("--output")

    def handle_school(self, **o):
        if o["date_from"] and o["date_from"] > o["as_of"]:
            raise CommandError("--from is after --as-of", returncode=2)
        if o["kind"] == "census":
            rows = returns.census_rows(term=o["term"] or returns.census_term_of(o["as_of"]), on=o["as_of"])
            fields = returns.CENSUS_FIELDS
        else:
            records = returns.build(o["kind"], as_of=o["as_of"], period_start=o["date_from"],
                                    rules=returns.Rules.from_settings())
            rows = [returns.public_record(r) for r in records]
            fields = returns.csv_fields(o["kind"])
        if o["format"] == "json":
            text = to_json(rows)
        else:
            text = to_csv([{k: r.get(k, "") for k in fields} for r in rows], fields)
        self.write(text, o["output"])
