from django.core.management.base import BaseCommand, CommandError

from demo.builder import demo_seed, demo_summary


class Command(BaseCommand):
    help = ("Create the five seed schools (six tenants: two LAP academies in one trust) with "
            "pupils, people, this year's calendar and marks up to yesterday. Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="drop the demo schools and their people first, then rebuild")
        parser.add_argument("--pupils", type=int, default=200, help="pupils per school (default 200)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--port", type=int, default=8000, help="port shown in the URLs")

    def handle(self, *args, **o):
        if o["pupils"] < 10:
            raise CommandError("--pupils must be at least 10")
        result = demo_seed(pupils=o["pupils"], seed=o["seed"], reset=o["reset"],
                           log=self.stdout.write)
        if not result.created:
            self.stdout.write("The demo schools already exist: nothing to do (use --reset to rebuild).")
        for line in demo_summary(port=o["port"]):
            self.stdout.write(line)
        if result.created:
            self.stdout.write(f"Seeded {len(result.created)} school(s) in {result.seconds:.1f} s.")
