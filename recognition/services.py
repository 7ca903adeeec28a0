"""Writes for recognition: settings seeded from the preset, awards given, certificates
printed through the letters machinery, prize draws, positive calls and benchmarks."""

from __future__ import annotations

import random
import secrets
from datetime import date

from django.db import transaction
from django.utils import timezone

from letters import services as letters_services
from letters.context import current_school
from letters.models import Batch, Letter, LetterTemplate
from registers.models import Pupil

from . import presets
from .models import Award, Benchmark, PositiveCall, PrizeDraw, RecognitionSettings, Rule
from .selectors import Period, Row


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


@transaction.atomic
def settings_get() -> RecognitionSettings:
    """The school's settings, seeded from its preset (rules and the certificate and positive
    letter templates) the first time they are read."""
    obj = RecognitionSettings.objects.filter(pk=1).first()
    if obj is not None:
        return obj
    preset = getattr(current_school(), "preset", "") or ""
    values, rules = presets.settings_for(preset)
    obj, created = RecognitionSettings.objects.get_or_create(pk=1, defaults={"preset": preset, **values})
    if created:
        Rule.objects.bulk_create(Rule(name=n, qualifies=q, gift=g, years=y, order=i)
                                 for i, (n, q, g, y) in enumerate(rules))
        templates_ensure()
    return obj


def templates_ensure() -> None:
    """The certificate (a document: letterhead, no address block) and the positive letter,
    as ordinary letter templates the school can edit within the letters sandbox."""
    for key, name, body, kind in (
            (presets.CERTIFICATE_KEY, presets.CERTIFICATE_NAME, presets.CERTIFICATE_BODY,
             LetterTemplate.Kind.DOCUMENT),
            (presets.POSITIVE_KEY, presets.POSITIVE_NAME, presets.POSITIVE_BODY,
             LetterTemplate.Kind.LETTER)):
        if not LetterTemplate.objects.filter(key=key).exists():
            letters_services.template_save(key=key, name=name, body=body, kind=kind,
                                           preset="recognition")


# --- what was given -------------------------------------------------------------------------

def _award(row: Row, *, rule: Rule, period: Period, gift: str, user, today: date, **kw) -> Award:
    return Award(pupil=row.pupil, rule=rule, title=row.title, gift=gift, period_label=period.label,
                 period_start=period.start, period_end=period.end, given_on=today, given_by=user,
                 given_by_name=_name(user), **kw)


@transaction.atomic
def awards_record(*, rows: list[Row], rule: Rule, period: Period, gift: str, user=None,
                  today: date | None = None) -> int:
    """Record that ``gift`` was given to each pupil of ``rows``; a pupil already recorded
    for the same award, gift and period is left as it was. Returns how many are new."""
    today = today or timezone.localdate()
    before = Award.objects.count()
    Award.objects.bulk_create([_award(r, rule=rule, period=period, gift=gift, user=user, today=today)
                               for r in rows], ignore_conflicts=True)
    return Award.objects.count() - before


def certificates_print(*, rows: list[Row], rule: Rule, period: Period, user=None,
                       today: date | None = None) -> Batch:
    """One PDF of certificates for ``rows`` through the letters machinery: a hand-picked,
    print-only batch of the school's certificate template, each letter carrying its award
    (title, period, date) as merge values, rendered here and joined into one print pack.
    Each certificate is recorded as an award, with its letter for the parents' portal.
    A pupil who already has this certificate is left out of the batch (and reported)."""
    today = today or timezone.localdate()
    templates_ensure()
    template = LetterTemplate.objects.get(key=presets.CERTIFICATE_KEY)
    trigger = f"certificate:{rule.pk}:{period.start:%Y%m%d}:{period.end:%Y%m%d}"
    contexts = {r.pupil.pk: {"award": {"title": r.title, "period": period.label,
                                       "date": f"{today:%-d %B %Y}"}} for r in rows}
    batch = letters_services.batch_create_picked(
        template=template, pupils=Pupil.objects.filter(pk__in=list(contexts)), trigger_key=trigger,
        label=f"Certificates: {rule.name}, {period.label}", user=user, send_email=False,
        as_of=min(period.end, today), contexts=contexts)
    batch = letters_services.batch_render_inline(batch=batch)
    letters = dict(Letter.objects.filter(batch=batch, status=Letter.Status.RENDERED)
                   .values_list("pupil_id", "pk"))
    with transaction.atomic():
        Award.objects.bulk_create(
            [_award(r, rule=rule, period=period, gift=Rule.Gift.CERTIFICATE, user=user, today=today,
                    letter_id=letters[r.pupil.pk]) for r in rows if r.pupil.pk in letters],
            ignore_conflicts=True)
    return batch


# --- prize draws ------------------------------------------------------------------------------

def draw_winners(seed: str, entrants: list[int], wanted: int) -> list[int]:
    """The winners a seed gives: a fair sample (every entrant equally likely) from the
    entrants in ascending order, so the stored seed and list always give the same winners."""
    pool = sorted(set(entrants))
    return random.Random(seed).sample(pool, min(wanted, len(pool)))


@transaction.atomic
def prize_draw(*, rows: list[Row], rule: Rule | None, period: Period, wanted: int, user=None,
               title: str = "", seed: str | None = None, today: date | None = None) -> PrizeDraw:
    """Draw ``wanted`` winners from the eligible list; the seed, the list and the winners are
    stored (append-only), and each winner gets a prize-draw award."""
    today = today or timezone.localdate()
    seed = seed or secrets.token_hex(16)
    entrants = sorted({r.pupil.pk for r in rows})
    winners = draw_winners(seed, entrants, wanted)
    draw = PrizeDraw.objects.create(rule=rule, title=title or (rule.name if rule else "Prize draw"),
                                    period_label=period.label, period_start=period.start,
                                    period_end=period.end, seed=seed, entrants=entrants,
                                    wanted=wanted, winners=winners, drawn_by_name=_name(user))
    by_pupil = {r.pupil.pk: r for r in rows}
    Award.objects.bulk_create(
        [Award(pupil_id=pid, rule=rule, title=f"Prize draw winner: {draw.title}",
               gift=Rule.Gift.PRIZE_DRAW, period_label=period.label, period_start=period.start,
               period_end=period.end, draw=draw, given_on=today, given_by=user,
               given_by_name=_name(user)) for pid in winners if pid in by_pupil],
        ignore_conflicts=True)
    return draw


def draw_check(draw: PrizeDraw) -> bool:
    """True when the stored seed and list give the stored winners again."""
    return draw_winners(draw.seed, draw.entrants, draw.wanted) == draw.winners


# --- improvers: positive calls and letters --------------------------------------------------

@transaction.atomic
def positive_calls_create(*, pupils: list[Pupil], reason: str, user=None) -> int:
    before = PositiveCall.objects.count()
    PositiveCall.objects.bulk_create(
        [PositiveCall(pupil=p, reason=reason[:200], created_on=timezone.localdate(),
                      created_by_name=_name(user)) for p in pupils], ignore_conflicts=True)
    return PositiveCall.objects.count() - before


@transaction.atomic
def positive_call_done(*, call: PositiveCall, notes: str, user=None) -> PositiveCall:
    call.done_on, call.done_by_name, call.notes = timezone.localdate(), _name(user), notes[:300]
    call.save(update_fields=["done_on", "done_by_name", "notes"])
    return call


def positive_letters(*, pupils: list[Pupil], user=None) -> Batch:
    """The positive letter for the improvers, queued and sent like any other batch."""
    templates_ensure()
    template = LetterTemplate.objects.get(key=presets.POSITIVE_KEY)
    batch = letters_services.batch_create_picked(
        template=template, pupils=Pupil.objects.filter(pk__in=[p.pk for p in pupils]),
        trigger_key=letters_services.default_trigger(template), label="Positive letters: improvers",
        user=user)
    letters_services.batch_start(batch=batch)
    return batch


# --- benchmarks -------------------------------------------------------------------------------

def benchmark_add(*, label: str, measure: str, value, source: str, period: str, user=None) -> Benchmark:
    b = Benchmark(label=label, measure=measure, value=value, source=source, period=period,
                  entered_by_name=_name(user))
    b.full_clean()
    b.save()
    return b


@transaction.atomic
def settings_save(*, form, formset) -> None:
    form.save()
    formset.save()
