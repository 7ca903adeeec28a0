"""Each seed school's recognition, as configuration (issue 19). Quotes are from the policies.

Loaded into a school's schema the first time its recognition settings are read
(``selectors.recognition_settings``), from the school's preset.
"""

from __future__ import annotations

from .models import RecognitionSettings, Rule

Q, G = Rule.Qualifies, Rule.Gift
A = RecognitionSettings.Alternative

PRESETS: dict[str, dict] = {
    # Beecroft: "Attendance certificates termly for 100%"; "Special prize draws for a half
    # term of 100%"; "100% trophies to all pupils who achieve an annual 100% (A special award
    # for 7 years of 100%)"; "Lucky dip rewards for those pupils on improvement charts";
    # "Motivating and positive calls to parents where there is improvement."
    "beecroft": {"fair_alternative": A.BEST_EVER, "improved_margin": 5, "improved_weeks": 6,
                 "rules": [("Termly 100% certificate", Q.TERM_100, G.CERTIFICATE, 1),
                           ("Half-term 100% prize draw", Q.HALF_TERM_100, G.PRIZE_DRAW, 1),
                           ("Annual 100% trophy", Q.YEAR_100, G.TROPHY, 1),
                           ("Seven years of 100% special award", Q.CONSECUTIVE_YEARS, G.OTHER, 7),
                           ("Improvement chart lucky dip", Q.MOST_IMPROVED, G.PRIZE_DRAW, 1)]},
    # Cheetwood 8.x: "termly and annual attendance will receive a certificate of achievement";
    # "Pupils with 100% at the end of the academic year will be presented with a certificate
    # and a gift as a reward."
    "cheetwood": {"fair_alternative": A.NONE,
                  "rules": [("Termly 100% certificate", Q.TERM_100, G.CERTIFICATE, 1),
                            ("Annual 100% certificate", Q.YEAR_100, G.CERTIFICATE, 1),
                            ("Annual 100% gift", Q.YEAR_100, G.GIFT, 1)]},
    # LAP: "Pupils in the class with the highest attendance after each Half Term invited to a
    # Celebration Breakfast"; "sticker charts and certificates ... when their attendance
    # improves"; "Certificates are awarded on a termly basis".
    "lap": {"fair_alternative": A.MOST_IMPROVED, "improved_margin": 5, "improved_weeks": 4,
            "competition_to_parents": True,
            "rules": [("Termly 100% certificate", Q.TERM_100, G.CERTIFICATE, 1),
                      ("Improvement certificate", Q.MOST_IMPROVED, G.CERTIFICATE, 1),
                      ("End of year 100% reward", Q.YEAR_100, G.OTHER, 1)]},
    # St Luke's: "Certificates in school; Postcards home; Texts home to parents; Attendance
    # badges for children termly".
    "stlukes": {"fair_alternative": A.BEST_EVER,
                "rules": [("Half-term 100% certificate", Q.HALF_TERM_100, G.CERTIFICATE, 1),
                          ("Half-term 100% postcard home", Q.HALF_TERM_100, G.POSTCARD, 1),
                          ("100% text home", Q.HALF_TERM_100, G.TEXT, 1),
                          ("Termly attendance badge", Q.TERM_100, G.BADGE, 1)]},
    # Banks Lane's policy names no rewards: a single termly certificate to start from.
    "bankslane": {"rules": [("Termly 100% certificate", Q.TERM_100, G.CERTIFICATE, 1)]},
}
DEFAULT = {"rules": [("Termly 100% certificate", Q.TERM_100, G.CERTIFICATE, 1)]}

CERTIFICATE_KEY = "recognition-certificate"
CERTIFICATE_NAME = "Attendance certificate"
CERTIFICATE_BODY = (
    '<div class="centre"><h1>{{ award.title }}</h1>'
    "<p>This certificate is presented to</p>"
    "<h1>{{ pupil.forename }} {{ pupil.surname }}</h1>"
    "<p>of class {{ pupil.class }}</p>"
    "<p>for {{ award.title|lower }} in {{ award.period }}.</p>"
    "<p>Well done!</p></div>"
    '<table class="signature-block"><tr><td>{{ school.headteacher }}<br>'
    '<span class="small">Headteacher</span></td><td class="right">{{ award.date }}</td></tr></table>')

POSITIVE_KEY = "recognition-positive"
POSITIVE_NAME = "Positive letter: attendance improving"
POSITIVE_BODY = (
    "<p>{{ salutation }},</p>"
    "<p>We are delighted to let you know that {{ pupil.forename }}'s attendance has improved: it "
    "is now {{ attendance.pct }}% this school year.</p>"
    "<p>Thank you for the effort you are making to get {{ pupil.forename }} to school every "
    "day. Every day counts, and {{ pupil.forename }} is doing really well.</p>"
    "<p>Yours sincerely,</p><p>{{ signatory.name }}<br>{{ signatory.title }}</p>")


def settings_for(preset: str) -> tuple[dict, list]:
    p = dict(PRESETS.get(preset, DEFAULT))
    rules = p.pop("rules")
    return p, rules
