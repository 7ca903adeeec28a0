"""Issue 17: the office reminds a teacher whose register is not taken; reminder settings."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from registers.models import RegistrationGroup
from tenants.access import role_required
from tenants.roles import ADMIN_STAFF, WHOLE_SCHOOL_MARKERS

from . import register_reminders
from .models import RegisterReminderSettings, StaffMobile


class RemindForm(forms.Form):
    group = forms.IntegerField(min_value=1)
    day = forms.DateField(input_formats=["%Y-%m-%d"])
    session = forms.ChoiceField(choices=[("AM", "AM"), ("PM", "PM")])


@role_required(WHOLE_SCHOOL_MARKERS)
@require_POST
def register_remind(request):
    form = RemindForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a class, a day and a session to remind.")
        return redirect("office_today")
    d = form.cleaned_data
    group = get_object_or_404(RegistrationGroup.objects.prefetch_related("teachers"), pk=d["group"])
    sent = register_reminders.remind(group=group, day=d["day"], session=d["session"],
                                     user=request.user)
    if not sent:
        messages.error(request, f"{group.name} has no teacher to remind.")
    for r in sent:
        who = r.teacher.get_full_name() or r.teacher.username
        if r.channels:
            messages.success(request, f"Reminded {who} ({r.channels.replace(',', ' and ')}) "
                                      f"to take the {d['session']} register for {group.name}.")
        else:
            messages.error(request, f"Could not remind {who}: {r.error}.")
    return redirect("office_session", day=d["day"], session=d["session"])


class ReminderSettingsForm(forms.Form):
    minutes_after_close = forms.IntegerField(
        label="Remind teachers automatically this many minutes after the register closes",
        min_value=0, max_value=240, required=False,
        help_text="Leave empty to remind only when the office presses Remind. A teacher is "
                  "reminded automatically at most once per session.")


@role_required(ADMIN_STAFF)
@require_http_methods(["GET", "POST"])
def reminder_settings(request):
    teachers = {u.pk: u for g in RegistrationGroup.objects.prefetch_related("teachers")
                for u in g.teachers.all()}
    mobiles = dict(StaffMobile.objects.filter(user_id__in=list(teachers))
                   .values_list("user_id", "mobile"))
    form = ReminderSettingsForm(request.POST or None, initial={
        "minutes_after_close": RegisterReminderSettings.get().minutes_after_close})
    if request.method == "POST" and form.is_valid():
        posted = {pk: request.POST.get(f"mobile-{pk}", "").strip()[:40] for pk in teachers}
        register_reminders.settings_save(
            minutes_after_close=form.cleaned_data["minutes_after_close"], mobiles=posted)
        messages.success(request, "Register reminders saved.")
        return redirect("absences:reminder_settings")
    rows = [{"user": u, "mobile": mobiles.get(pk, "")}
            for pk, u in sorted(teachers.items(), key=lambda kv: kv[1].last_name)]
    return render(request, "absences/reminder_settings.html", {"form": form, "rows": rows})
