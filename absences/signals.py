"""Signals the apps above absences subscribe to (docs/architecture.md: lower layers never import
higher ones).

``leave_decided(sender=LeaveRequest, request=…)``: the headteacher decided a leave request, inside
its transaction. The letters app queues the decision as a PDF letter on the pupil's letters and
renders it once the transaction commits (letters/apps.py, ``letters.services.leave_decision_letter``).
"""

from django.dispatch import Signal

leave_decided = Signal()
