"""Issue 17 item 4: letters and messages from the case page (escalation's case view stays
the escalation app's; these actions live here, above it)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from escalation.models import Case
from registers.models import Contact
from tenants.access import role_required
from tenants.roles import Role

from . import case_letters
from .models import Letter, LetterTemplate

CASE_WORKERS = {Role.ATTENDANCE_OFFICER, Role.HEAD}  # escalation.views.ESCALATION


class CaseLetterForm(forms.Form):
    template = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class DeliveredForm(forms.Form):
    how = forms.ChoiceField(choices=list(case_letters.HOW.items()))


class MessageForm(forms.Form):
    contact = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    body = forms.CharField(max_length=600)


def _back(case_id):
    from django.urls import reverse

    return redirect(reverse("esc_case", args=[case_id]) + "#letters-h")


@role_required(CASE_WORKERS)
@require_POST
def case_letter(request, pk):
    case = get_object_or_404(Case.objects.select_related("pupil", "stage", "policy_version"), pk=pk)
    form = CaseLetterForm(request.POST)
    template = form.is_valid() and LetterTemplate.objects.filter(
        pk=form.cleaned_data["template"], active=True).first()
    if not template:
        messages.error(request, "Choose a letter template.")
        return _back(case.pk)
    # Queued, then rendered outside any transaction (the letter's own writes are atomic): no
    # request transaction stays open while the PDF renders (issue 15).
    letter = case_letters.case_letter_render(case=case, template=template, user=request.user)
    if letter:
        messages.success(request, f"{template.name} rendered: email it, or mark it posted or "
                                  "handed over.")
    else:
        messages.error(request, f"{template.name} could not be rendered.")
    return _back(case.pk)


def _case_letter(pk) -> Letter:
    return get_object_or_404(Letter.objects.select_related("case__stage", "case__policy_version"),
                             pk=pk, case__isnull=False)


@role_required(CASE_WORKERS)
@require_POST
def case_letter_email(request, pk):
    letter = _case_letter(pk)
    if case_letters.case_letter_email(letter=letter, user=request.user):
        messages.success(request, f"Emailed to {letter.emailed_to}.")
    else:
        messages.error(request, letter.error or "Not emailed: no correspondence contact has an "
                                                "email address, or it was already sent. Post it.")
    return _back(letter.case_id)


@role_required(CASE_WORKERS)
@require_POST
def case_letter_delivered(request, pk):
    letter = _case_letter(pk)
    form = DeliveredForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Say whether the letter was posted or handed over.")
        case_letters.case_letter_delivered(letter=letter, how=form.cleaned_data["how"],
                                           user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Recorded: {case_letters.HOW[form.cleaned_data['how']].lower()}.")
    return _back(letter.case_id)


@role_required(CASE_WORKERS)
@require_POST
def case_message(request, pk):
    case = get_object_or_404(Case.objects.select_related("pupil", "stage", "policy_version"), pk=pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a contact and write the message (600 characters at most).")
        return redirect("esc_case", pk=case.pk)
    contact = get_object_or_404(Contact, pk=form.cleaned_data["contact"], pupil_id=case.pupil_id)
    try:
        sent = case_letters.case_message(case=case, contact=contact,
                                         body=form.cleaned_data["body"], user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if sent:
            messages.success(request, f"Message sent to {contact} by "
                                      f"{' and '.join('text' if c == 'sms' else c for c in sent)}.")
        else:
            messages.error(request, f"The message to {contact} could not be sent.")
    return redirect("esc_case", pk=case.pk)
