# ruff: noqa: E501  (letter texts: one paragraph per line, as in the seeds)
"""Letter templates from the seed schools (docs/domain.md), loaded by ``create_school --preset``.

The texts follow the seeds: LAP annexes 5, 6a, 6b, 7a and 7b (graduated-response letters 1–3,
the Attendance Targeted Support Plan and the Attendance Contract), Beecroft's half-termly
traffic-light letter, St Luke's letters below 95% and below 90%, Banks Lane's missing-from-
school report, and the leave-decision and meeting-invitation letters every school needs.
The seeds' ``<<Merge Field>>`` placeholders are written as ``{{ merge.field }}``; the seeds'
unnamed staff ("Mrs XXX") become ``{{ attendance_lead }}``. Each school edits its own copy.
"""

from __future__ import annotations

from functools import lru_cache

SIGN_OFF = """<p>Yours sincerely,</p>
<p><br><br>{{ signatory.name }}<br>{{ signatory.title }}</p>"""

PENALTY_FRAMEWORK = """<p>For your information, under the new National framework, all schools are required to consider a Penalty Notice when a child has missed 10 or more sessions (5 days) for unauthorised reasons.</p>
<p>From August 2024, if a Penalty Notice is issued, it carries a penalty of £80 if paid in full within 21 days, or £160 if paid in full after this time but within 28 days. They will be issued for each parent/carer for each child where a child accumulates 10 or more sessions of unauthorised absences (one school day is made up of two sessions) within a rolling 10 school week period.</p>
<p>If the same child accumulates another 10 or more sessions of unauthorised absences within a subsequent rolling 10 school week period and also within a rolling 3-year period of the first penalty notice, it will be charged at the higher rate of £160 with no option for this second offence to be discharged at the lower rate of £80. It must be paid within 28 days. Only two Penalty Notices will be issued in a rolling three-year period. This means that if the two Penalty Notices are paid, and the child has a further period of 10 sessions of unauthorised absence within the three years following the date of the first penalty notice, this will result in the parent/carer receiving a summons or Single Justice Procedure Notice for Court for an offence contrary to s444 Education Act.</p>
<p><u>There is no legal right to appeal the Penalty Notice once it has been issued.</u> If a Penalty Notice goes unpaid, this is likely to result in Court proceedings being instigated for an offence of failing to ensure regular school attendance contrary to section 444 Education Act 1996. Upon conviction of such an offence the maximum fine of £2500, or a maximum 3 months' imprisonment, can be imposed.</p>"""

LAP_LETTER_1 = """<p>{{ salutation }},</p>
<p><strong>Re: Low Attendance Letter 1</strong><br><strong>{{ pupil.legal_name }}, {{ pupil.class }}</strong></p>
<p>We hope you are well. We understand the importance of working together to support attendance in school. The first stage of our approach to attendance is helping you to understand your own child's missed sessions. Therefore, would like to kindly bring to your attention that, according to our records, {{ pupil.forename }}'s attendance for this academic year currently stands at {{ attendance.pct }}%. This reflects a total of {{ attendance.sessions_missed }} missed sessions since the start of the Academic Year.</p>
<p>All attendance, whatever the reason, is coded. We understand that these absences may be due to illness, lates or other authorised reasons, and every family will be different. Every moment in school counts and days missed add up quickly. As families, you want the very best opportunities for your child and so do we. Being in school daily is important to your child's achievement, wellbeing and social development. Every session makes a difference and we want to help you to make every session count for your child so they can flourish in all that they do and realise their potential. For your reference, we've included a table below that highlights the learning hours that can be missed when children are absent from school.</p>
<p>To help us to correctly identify absences, please notify the school each day that {{ pupil.forename }} is unable to attend. Where children are unwell, we advise parents to follow the advice provided by the NHS, available here: <u>Is my child too ill for school? - NHS</u>.</p>
<p>We are here to listen and understand your family context. If there is anything that we can do to support you in this, your child's class teacher would be happy to meet with you to discuss it further. Our Family Support Worker is available on the gate every morning for an informal chat, or you can book an appointment through the school office, if you think this would be useful.</p>
<p>You can view the full details of {{ pupil.forename }}'s attendance via the MCAS app. If you feel there may be any discrepancies in this record, please don't hesitate to get in touch with {{ attendance_lead|default:"the school office" }}, and we'll be happy to discuss this with you.</p>
<p>Working together, we can support {{ pupil.forename }} to feel happy attending school daily and seek support where necessary to overcome any barriers to attendance.</p>
<p>Please feel free to reach out if there's any support we can offer. We are always here to help.</p>
<p>Thank you for your continued support.</p>
""" + SIGN_OFF + """
{{ learning_lost_table }}
<p class="small">{{ pupil.forename }} has missed {{ attendance.sessions_missed }} sessions so far: {{ learning_lost.days }} days, {{ learning_lost.weeks }} weeks, about {{ learning_lost.hours }} hours of learning.</p>"""

LAP_LETTER_2 = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}</strong></p>
<p><strong>Re: Low Attendance Letter 2</strong></p>
<p>We understand the importance of working together to support {{ pupil.forename }}'s attendance. Following our last communication, we have noticed that {{ pupil.forename }}'s attendance continues to be low. The current attendance has dropped to {{ attendance.pct }}%. This means that they have now missed a total of {{ attendance.sessions_missed }} sessions this academic year.</p>
<p>Whilst we understand that some absences may be due to illness or other authorised circumstances, we wanted to highlight to you the growing number of sessions missed so far this academic year which can impact on the progress, attainment and social wellbeing of children.</p>
<p>For full details of {{ pupil.forename }}'s recorded attendance codes, please see your MCAS app; should you not agree with this record of {{ pupil.forename }}'s attendance, please contact {{ attendance_lead|default:"the school office" }} to discuss this further.</p>
<p>We would like to offer some time to meet with you as a family and listen to understand any barriers that may be in place for your child attending school. From this we will work together on an Attendance Targeted Support Plan.</p>
<p>For your ease, we have made an appointment for {% if meeting.date %}{{ meeting.date|date:"l j F Y" }} at {{ meeting.time }}{% else %}a date and time we will confirm by telephone{% endif %}. However, we are happy to facilitate an online call if this is easier for you. Please telephone the school office to let us know if you can attend or to arrange a different, mutually agreeable time.</p>
<p>Please also be advised that we will be unable to authorise any further absence due to illness unless you can provide evidence of contact with a medical professional, this can be an appointment card, text or email, a prescription or sight of the medication prescribed.</p>
<p>Below, you will find the statutory information following the new National framework. This is included to support families to understand next steps that may be taken in the future when attendance is avoidable or is not improving. Please be assured that there is no further action at this time.</p>
""" + PENALTY_FRAMEWORK + """
<p>If you have any questions, please contact us through the office or catching one of us on the gate.</p>
""" + SIGN_OFF

LAP_LETTER_3 = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}</strong></p>
<p><strong>Low Attendance Letter 3</strong></p>
<p>We understand the importance of working together to support {{ pupil.forename }}'s attendance. Following our last communication, we have noticed that {{ pupil.forename }}'s attendance has shown no improvement and they continue to miss a high number of school sessions. Their current attendance has dropped to {{ attendance.pct }}%. This means that they have now missed a total of {{ attendance.sessions_missed }} sessions this academic year.</p>
<p>Every moment in school counts and days missed add up quickly. As families, you want the very best opportunities for your child and so do we. Being in school daily is important to your child's achievement, wellbeing and social development. Every session makes a difference and we want to help you to make every session count for your child so they can flourish in all that they do and realise their potential.</p>
<p>At this point, we need to work together collectively to make a difference for {{ pupil.forename }}. We would like to invite you to a meeting in school to further understand the challenges with attendance and agree how we as a school, yourself as parent and {{ pupil.forename }} themselves can improve their attendance.</p>
<p>Present at this meeting will be your child's class teacher, {{ attendance_lead|default:"the School Attendance Champion" }} and myself as headteacher, and other staff such as one of the SEND team where necessary. In this meeting, we will all create a clear Attendance Contract to remove any barriers to support {{ pupil.forename }} to be in school daily.</p>
<p>We have made a team around your child appointment for you at {% if meeting.date %}{{ meeting.time }} on {{ meeting.date|date:"l j F Y" }}{% else %}a time we will confirm by telephone{% endif %}.</p>
<p>We ask for your full engagement to support the persistent ongoing absence so that we can listen, understand the barriers and work together to reduce them and impact positively on your child's access to education. Should your child's attendance fall further, we may need to move to the Enforce level of our policy which could result in a referral to the Local Authority for legal action to be taken. This means that a Penalty Notice may be issued to you, or you may receive a summons to Court. We are not yet at this stage but wish to inform you of the statutory information following the new National framework to support you to understand the next steps if your child's attendance does not improve.</p>
""" + PENALTY_FRAMEWORK + """
<p>From the creation of the Attendance Contract for {{ pupil.forename }} we will continue to review and update you to celebrate the progress and next steps to support your child's routine of being in school daily. We remain unable to authorise any further absences for illness unless evidence of contact with a medical professional is provided and ask that you discuss any potential absences with us so that we can support where possible adapting your child's tailored plan where necessary.</p>
<p>We look forward to working together with you to support {{ pupil.forename }}.</p>
""" + SIGN_OFF

SIGNATURES = """<table class="signature-block">
<tr><td>Signed (parent/carer)</td><td class="signature-line"></td><td>Date</td><td class="signature-line"></td></tr>
<tr><td>Signed (school)</td><td class="signature-line"></td><td>Date</td><td class="signature-line"></td></tr>
<tr><td>Signed (child, if appropriate)</td><td class="signature-line"></td><td>Date</td><td class="signature-line"></td></tr>
</table>"""

SUPPORT_PLAN = """<h1>Attendance Targeted Support Plan</h1>
<table class="form-table">
<tr><th>Child's name and year group</th><td>{{ pupil.legal_name }}, {{ pupil.year_group }} ({{ pupil.class }})</td></tr>
<tr><th>School</th><td>{{ school.name }}</td></tr>
<tr><th>Date of joining the school</th><td>{{ pupil.admission_date|date:"j F Y" }}</td></tr>
<tr><th>Date of Targeted Attendance Meeting</th><td>{% if meeting.date %}{{ meeting.date|date:"j F Y" }} {{ meeting.time }}{% endif %}</td></tr>
<tr><th>Present at the meeting</th><td class="blank"></td></tr>
<tr><th>Apologies</th><td class="blank"></td></tr>
<tr><th>Current attendance</th><td>Attendance: {{ attendance.pct }}% ({{ attendance.attended }} of {{ attendance.possible }} sessions)<br>Authorised absence: {{ attendance.authorised }} sessions<br>Unauthorised absence: {{ attendance.unauthorised }} sessions<br>Lates (L code): {{ attendance.late }}<br>Lates after registration (U code): {{ attendance.late_after_close }}</td></tr>
<tr><th>If part time, outline current timetable and start date</th><td class="blank"></td></tr>
<tr><th>SEND status</th><td>{{ pupil.sen }}</td></tr>
<tr><th>Barrier to attending school: school's views</th><td class="tall"></td></tr>
<tr><th>Barrier to attending school: parent's / child's views</th><td class="tall"></td></tr>
<tr><th>Agreed action</th><td class="tall"></td></tr>
<tr><th>Review date / time</th><td class="blank"></td></tr>
</table>
""" + SIGNATURES

CONTRACT = """<h1>Attendance Contract</h1>
<p>The DfE Statutory Guidance on Attendance 'Working Together to Improve School Attendance' provides clarity and expectations for schools, parents and Local Authorities with regards to children's attendance.</p>
<p>The DfE guidance sets out the stages of <strong>Attendance Actions</strong> in full. This has specific detail for children who are persistently absent (below 90%) or severely absent (below 50%), in that the actions should be 'targeted': "Put additional targeted support in place, where necessary working with partners, and agree a joint approach with local authorities for all severely absent pupils".</p>
<p>This 'Attendance Contract' documents this 'Formal Attendance Support', at the 'Targeted' stage, as detailed in Paragraph 144 of the DfE Guidance. In completing this Attendance Contract, the school agrees to work in partnership with parents, through this offer of Formal Support. In completing and signing this, parents agree to work in partnership, as part of this formal offer. It is important to note that the DfE guidance sets out the next stages, should this Formal Support not be able to be complied with.</p>
<table class="form-table">
<tr><th>Child's name and year group</th><td>{{ pupil.legal_name }}, {{ pupil.year_group }} ({{ pupil.class }})</td></tr>
<tr><th>Child's school and when they joined the school</th><td>{{ school.name }}, joined {{ pupil.admission_date|date:"F Y" }}</td></tr>
<tr><th>Date Attendance Contract started (and meeting date)</th><td>{% if meeting.date %}Meeting held {{ meeting.date|date:"l j F Y" }}{% endif %}</td></tr>
<tr><th>Current attendance % (include UAs, AAs, E codes)</th><td>Attended {{ attendance.attended }} sessions out of a possible {{ attendance.possible }} = {{ attendance.pct }}% overall attendance.<br>{{ attendance.unauthorised }} sessions are unauthorised absence; {{ attendance.authorised }} sessions are authorised absence.<br>{{ attendance.late }} lates before registration closed and {{ attendance.late_after_close }} lates after registration closed.</td></tr>
<tr><th>If not currently in school: when last in school / contact with parents</th><td class="blank"></td></tr>
<tr><th>If part time, outline current timetable and start date</th><td class="blank"></td></tr>
<tr><th>Previous years' attendance since joining school</th><td class="blank"></td></tr>
<tr><th>SEND status (wave; date when joined SEND register)</th><td>{{ pupil.sen }}</td></tr>
<tr><th>Social care level (TAF/CIN/CP/EH/under assessment) and history</th><td class="blank"></td></tr>
<tr><th>Professionals involved (role and name)</th><td class="blank"></td></tr>
<tr><th>Names of siblings and their current attendance % / school</th><td class="blank"></td></tr>
<tr><th>Barrier to attending school: school's views</th><td class="tall"></td></tr>
<tr><th>Barrier to attending school: parent's views</th><td class="tall"></td></tr>
<tr><th>Barrier to attending school: child's views</th><td class="tall"></td></tr>
</table>
<table class="form-table">
<thead><tr><th>Intervention / support / signposting offered</th><th>Details and intended impact on attendance; levels of engagement</th><th>Signed professional / parent(s)</th></tr></thead>
<tbody><tr><td class="blank">1.</td><td></td><td></td></tr><tr><td class="blank">2.</td><td></td><td></td></tr><tr><td class="blank">3.</td><td></td><td></td></tr><tr><td class="blank">4.</td><td></td><td></td></tr></tbody>
</table>
<table class="form-table">
<tr><th>Attendance target (how much of each week, as well as %)</th><td class="blank"></td></tr>
<tr><th>Timescale for improvement within this Attendance Contract (DfE guidance: 3 to 12 months)</th><td class="blank"></td></tr>
<tr><th>Date / venue of review meetings (set specific dates)</th><td class="blank"></td></tr>
<tr><th>Any other business</th><td class="blank"></td></tr>
</table>
<p>We agree to comply with delivering on the above actions. Failure to engage in this Formal Support will result in the school needing to consider the next stages, as outlined in the DfE guidance; this may mean that Enforcement stages will start.</p>
<table class="signature-block">
<tr><td>Parent/carer(s)</td><td class="signature-line"></td><td>School representative</td><td class="signature-line"></td></tr>
<tr><td>Agency / professional</td><td class="signature-line"></td><td>Pupil</td><td class="signature-line"></td></tr>
<tr><td>Other</td><td class="signature-line"></td><td>Date</td><td class="signature-line"></td></tr>
</table>
<p class="small">Date Attendance Contract closed: ____________ &nbsp; Reason for closure: ______________________________</p>"""

BEECROFT_TRAFFIC_LIGHT = """<p>{{ salutation }},</p>
<p><strong>Half-termly attendance: {{ pupil.forename }} {{ pupil.surname }}, {{ pupil.class }}</strong></p>
<p>Attendance at school is the law. At Beecroft we monitor every pupil's attendance against our Traffic Light Group system, and each half term we let every family know which group their child is in.</p>
<p>{{ pupil.forename }}'s attendance this school year is <strong>{{ attendance.pct }}%</strong>, which places {{ pupil.forename }} in the <strong>{{ attendance.band }}</strong> group. {{ pupil.forename }} has missed {{ attendance.sessions_missed }} sessions ({{ learning_lost.days }} days) since the start of the year.</p>
{% if attendance.band == "Green" %}<p>Thank you! Pupils in the Green group have excellent attendance (96% and above). It is important to celebrate this: pupils receive half-termly certificates, end of year medals and entry into prize draws.</p>
{% elif attendance.band == "Yellow" %}<p>Pupils in the Yellow group are having too many days off and will need to work on their attendance. Their attendance will be monitored by the class teacher to avoid it dropping further, along with phone calls from our Attendance Officer.</p>
{% elif attendance.band == "Amber" %}<p>Pupils in the Amber group are becoming a serious concern. They will receive a home visit, and parents will be invited in for a School Attendance Panel (SAP) meeting with the headteacher to establish a way forward with improving your child's attendance.</p>
{% else %}<p>Pupils in the Red group (90% and below) are a serious concern: this is classed as persistently absent. There will be a SAP meeting held in school with the Head, Deputy and Attendance Officer. If attendance does not improve the case will be passed on to the Leeds City Council Education Welfare Officer, which may result in a penalty notice, a prosecution in either the Family or Magistrates Court, or the loss of your child's place at Beecroft.</p>
{% endif %}
<table class="lost-table"><thead><tr><th>Group</th><th>Attendance</th></tr></thead><tbody>
<tr><td>Green</td><td>96% and above</td></tr><tr><td>Yellow</td><td>below 96% and above 91%</td></tr>
<tr><td>Amber</td><td>91% and above 90%</td></tr><tr><td>Red</td><td>90% and below (persistently absent)</td></tr></tbody></table>
<p>If your child is ill, please telephone the school on the first day of absence before 9.00 am and provide a reason. Please book medical appointments around the school day where possible, and remember that leave in term time is only granted in exceptional circumstances and must be requested a month in advance.</p>
""" + SIGN_OFF

BEECROFT_LATE_MEETING = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: punctuality</strong></p>
<p>I am writing because {{ pupil.forename }} has often arrived after the register closed at 8.40am: {{ attendance.late }} late marks so far this school year, and {{ attendance.late_after_close }} after 9.10am (recorded as absent, code U). Arriving late means missing valuable learning time at the start of the day, and it unsettles the class.</p>
<p>I would like to invite you to come into school to meet me, so that we can talk about what makes the mornings difficult and how we can help {{ pupil.forename }} arrive on time. Please contact the school office to arrange a time that suits you.</p>
""" + SIGN_OFF

LAP_U_LATES = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: arriving after the register has closed</strong></p>
<p>Arriving after the register has closed has a negative impact on the welfare of pupils: that of the pupil who is late, as well as their classmates. {{ pupil.forename }} has arrived after the register closed {{ attendance.late_after_close }} times this school year. {{ pupil.forename }} is welcomed into class, but, as per DfE guidance, each of these sessions counts as an unauthorised absence (code U) in {{ pupil.forename }}'s attendance, which this school year stands at {{ attendance.pct }}%.</p>
<p>We would like to talk with you about any support you may need to help {{ pupil.forename }} arrive on time, and the ways of accessing that support. Please contact {{ attendance_lead|default:"the school office" }} so that we can work on this together.</p>
""" + SIGN_OFF

STLUKES_95 = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: attendance below our expected standard</strong></p>
<p>I am writing because {{ pupil.forename }}'s attendance has fallen below 95 percent, the school's expected standard. {{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}%, with {{ attendance.sessions_missed }} sessions missed ({{ attendance.authorised }} authorised and {{ attendance.unauthorised }} unauthorised).</p>
<p>Regular attendance matters: {{ learning_lost.days }} days missed is about {{ learning_lost.hours }} hours of learning. There is a lot you can do, with the school and with {{ pupil.forename }}, to improve attendance: make sure {{ pupil.forename }} arrives on time every day, book appointments outside the school day where possible, and talk to us early about anything that makes attending school difficult.</p>
<p>Please contact the school if there is anything we can help with. Our attendance team will be happy to talk with you.</p>
""" + SIGN_OFF

STLUKES_90 = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: attendance now being monitored</strong></p>
<p>I am writing to let you know that {{ pupil.forename }}'s attendance has fallen below 90 percent and is now being monitored by the school. {{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}% ({{ attendance.sessions_missed }} sessions missed, of which {{ attendance.unauthorised }} are unauthorised). Below 90% a pupil is persistently absent.</p>
<p>A member of our attendance team will contact you to discuss this, by telephone or face to face. Attendance is reviewed every half term; if it does not improve, the school will request a written warning letter from the School Attendance Improvement Service, and a penalty notice may follow.</p>
<p>Please talk to us if you have any questions about {{ pupil.forename }}'s attendance or punctuality.</p>
""" + SIGN_OFF

LEAVE_DECISION = """<p>{{ salutation }},</p>
<p><strong>Request for leave of absence: {{ pupil.legal_name }}, {{ pupil.class }}</strong></p>
<p>Thank you for your request for leave of absence for {{ pupil.forename }} from {{ leave.start|date:"j F Y" }} to {{ leave.end|date:"j F Y" }} ({{ leave.days_requested }} school days), for the reason: {{ leave.reason }}.</p>
{% if leave.decision == "Refused" %}<p>I am sorry to tell you that the request has been <strong>refused</strong>. Leave in term time can only be granted in exceptional circumstances. If {{ pupil.forename }} is absent on these days the absence will be recorded as unauthorised (holiday not granted by the school, code G), and a penalty notice may be considered.</p>
{% else %}<p>The request has been <strong>{{ leave.decision|lower }}</strong>: {{ leave.days_granted }} school days are granted.</p>{% endif %}
{% if leave.comment %}<p>{{ leave.comment }}</p>{% endif %}
<p>{{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}%.</p>
""" + SIGN_OFF

MEETING_INVITATION = """<p>{{ salutation }},</p>
<p><strong>Invitation to a meeting about {{ pupil.forename }}'s attendance</strong></p>
<p>We would like to invite you to {% if meeting.type %}an {{ meeting.type }}{% else %}a meeting{% endif %} to talk about {{ pupil.forename }}'s attendance and how we can work together to support it.</p>
<p><strong>When:</strong> {% if meeting.date %}{{ meeting.date|date:"l j F Y" }} at {{ meeting.time }}{% else %}we will telephone you to agree a time{% endif %}<br><strong>Where:</strong> {{ meeting.place|default:"at school" }}</p>
<p>{{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}% ({{ attendance.sessions_missed }} sessions missed). If the time is not convenient, please telephone the school office so that we can arrange a different, mutually agreeable time; we can also meet online or by phone.</p>
""" + SIGN_OFF

BANKSLANE_MISSING = """<h1>Missing from school report</h1>
<p class="muted">For the Education Welfare Team ({{ school.la_name }}): a child with 10 consecutive days of unexplained and unauthorised absence.</p>
<table class="form-table">
<tr><th>Child's legal name</th><td>{{ pupil.legal_name }}{% if pupil.forename != pupil.legal_forename %} (known as {{ pupil.forename }}){% endif %}</td></tr>
<tr><th>Date of birth</th><td>{{ pupil.date_of_birth|date:"j F Y" }}</td></tr>
<tr><th>UPN</th><td>{{ pupil.upn }}</td></tr>
<tr><th>Year group / class</th><td>{{ pupil.year_group }} / {{ pupil.class }}</td></tr>
<tr><th>Parents / carers</th><td>{% for c in contacts %}{{ c.name }} ({{ c.relationship }})<br>{{ c.address_label }}<br>{% empty %}No contact flagged for correspondence{% endfor %}</td></tr>
<tr><th>Attendance this school year</th><td>{{ attendance.pct }}% ({{ attendance.unauthorised }} unauthorised sessions of {{ attendance.possible }})</td></tr>
<tr><th>Steps taken to contact the family (calls at different times, emergency contacts, lead professional, home visit)</th><td class="tall"></td></tr>
<tr><th>Safeguarding concerns / MASSH contacted</th><td class="blank"></td></tr>
</table>
""" + SIGNATURES

# Banks Lane's policy: "In the case of pupils on part-time timetables, the Local Authority
# also requires a part-time timetable Notification Form to be completed" (Stockport), and
# part-time timetables are used "in tandem with seeking local authority support through TAS
# meetings".
BANKSLANE_PART_TIME = """<h1>Part-time timetable notification</h1>
<p class="muted">For the Education Welfare Team ({{ school.la_name }}): the school has agreed a temporary part-time timetable with the parent. A part-time timetable is used only in exceptional circumstances, is regularly reviewed and has a planned end.</p>
<table class="form-table">
<tr><th>School</th><td>{{ school.name }}, {{ school.phone }}</td></tr>
<tr><th>Child's legal name</th><td>{{ pupil.legal_name }}{% if pupil.forename != pupil.legal_forename %} (known as {{ pupil.forename }}){% endif %}</td></tr>
<tr><th>Date of birth</th><td>{{ pupil.date_of_birth|date:"j F Y" }}</td></tr>
<tr><th>UPN</th><td>{{ pupil.upn }}</td></tr>
<tr><th>Year group / class</th><td>{{ pupil.year_group }} / {{ pupil.class }}</td></tr>
<tr><th>SEN status</th><td>{{ pupil.sen }}{% if part_time.la_consulted_on %} (LA consulted on {{ part_time.la_consulted_on|date:"j F Y" }}){% endif %}</td></tr>
<tr><th>Parents / carers</th><td>{% for c in contacts %}{{ c.name }} ({{ c.relationship }})<br>{{ c.address_label }}<br>{% empty %}No contact flagged for correspondence{% endfor %}</td></tr>
<tr><th>Reason for the part-time timetable</th><td>{{ part_time.reason }}</td></tr>
<tr><th>Start date</th><td>{{ part_time.start|date:"j F Y" }}</td></tr>
<tr><th>Planned end date</th><td>{{ part_time.planned_end|date:"j F Y" }}</td></tr>
<tr><th>Sessions attended each week</th><td>{{ part_time.sessions }} ({{ part_time.sessions_per_week }} of 10 sessions; the others are recorded as C2)</td></tr>
<tr><th>Review dates</th><td>{{ part_time.reviews }}</td></tr>
<tr><th>Parent's agreement</th><td>{% if part_time.parent_agreed_on %}Agreed on {{ part_time.parent_agreed_on|date:"j F Y" }}{% endif %}</td></tr>
<tr><th>Social worker informed</th><td>{% if part_time.social_worker_informed_on %}{{ part_time.social_worker_informed_on|date:"j F Y" }}{% else %}Not applicable{% endif %}</td></tr>
<tr><th>Attendance this school year</th><td>{{ attendance.pct }}% ({{ attendance.possible }} possible sessions)</td></tr>
<tr><th>Support in place and plan to return to full-time attendance (TAS meeting)</th><td class="tall"></td></tr>
</table>
""" + SIGNATURES

CHEETWOOD_CONCERN = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: concern about attendance</strong></p>
<p>I am writing as the school attendance officer because {{ pupil.forename }}'s attendance has not improved since we last spoke with you{% if attendance.unauthorised %}, and unauthorised absence has been recorded{% endif %}. {{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}% ({{ attendance.band }}), with {{ attendance.sessions_missed }} sessions missed, of which {{ attendance.unauthorised }} are unauthorised.</p>
<p>As a parent or carer you are legally responsible for making sure that {{ pupil.forename }} attends school regularly and on time. Please telephone the school on the first morning of any absence, book appointments outside the school day where possible, and do not take holidays in term time.</p>
<p>We have set {{ pupil.forename }} an attendance target in sessions that will move them to the band above, and we will review it with you. If attendance does not improve you will be invited to a meeting, where the outcomes may include a parenting contract or the start of a 15 school day penalty notice monitoring period.</p>
<p>Please contact the school office if there is anything we can do to help.</p>
""" + SIGN_OFF

CHEETWOOD_PN_MONITORING = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: penalty notice monitoring period</strong></p>
<p>Following our meeting about {{ pupil.forename }}'s attendance, I am writing to tell you that a penalty notice monitoring period of 15 school days now begins. {{ pupil.forename }}'s attendance this school year is {{ attendance.pct }}%, with {{ attendance.unauthorised }} sessions of unauthorised absence.</p>
<p>If any further unauthorised absence is recorded during the next 15 school days (including arriving after the register has closed), the school will ask the local authority to issue a penalty notice to each parent for {{ pupil.forename }}. If no unauthorised absence is recorded, no further action will be taken at this stage.</p>
""" + PENALTY_FRAMEWORK + """
<p>Please contact the school attendance officer if you would like to talk about the support available.</p>
""" + SIGN_OFF

BANKSLANE_PENALTY_WARNING = """<p>{{ salutation }},</p>
<p><strong>{{ pupil.legal_name }}, {{ pupil.class }}: written warning before an Education Penalty Notice</strong></p>
<p>Our records show that {{ pupil.forename }} has had {{ attendance.unauthorised }} sessions of unauthorised absence this school year, which meets {{ school.la_name }} Council's criteria for a written warning (10 sessions of unauthorised absence in a three month period).</p>
<p>This letter gives you the opportunity to avoid an Education Penalty Notice. During the next 15 school days no unauthorised absence may be recorded for {{ pupil.forename }}, and this includes arriving after the register has closed (code U). If unauthorised absence is recorded during this period, the school will ask the Council to issue an Education Penalty Notice to each parent for {{ pupil.forename }}, in accordance with the Council's Code of Conduct.</p>
""" + PENALTY_FRAMEWORK + """
<p>If there are difficulties that are affecting {{ pupil.forename }}'s attendance, please contact the school so that we can help.</p>
""" + SIGN_OFF

COMMON = [
    ("leave_decision", "Leave of absence decision", "letter", LEAVE_DECISION),
    ("meeting_invitation", "Meeting invitation", "letter", MEETING_INVITATION),
    ("support_plan", "Attendance Targeted Support Plan", "document", SUPPORT_PLAN),
    ("attendance_contract", "Attendance Contract", "document", CONTRACT),
]
BY_PRESET = {
    "lap": [("lap_letter_1", "LAP Letter 1: low attendance (below 96%)", "letter", LAP_LETTER_1),
            ("lap_letter_2", "LAP Letter 2: persistent absence, support meeting", "letter", LAP_LETTER_2),
            ("lap_letter_3", "LAP Letter 3: attendance contract meeting", "letter", LAP_LETTER_3),
            ("lap_u_lates", "LAP: late after the register closed (U lates accumulating)", "letter", LAP_U_LATES)],
    "beecroft": [("traffic_light", "Half-termly traffic-light letter", "letter", BEECROFT_TRAFFIC_LIGHT),
                 ("beecroft_late_meeting", "Persistent lateness: the head invites parents in", "letter",
                  BEECROFT_LATE_MEETING)],
    "stlukes": [("stlukes_below_95", "Attendance below 95%", "letter", STLUKES_95),
                ("stlukes_below_90", "Attendance below 90%: monitoring", "letter", STLUKES_90)],
    "bankslane": [("missing_from_school", "Missing from school report", "document", BANKSLANE_MISSING),
                  ("bankslane_penalty_warning", "Written warning before a penalty notice", "letter",
                   BANKSLANE_PENALTY_WARNING),
                  ("part_time_notification", "Part-time timetable notification to the LA",
                   "document", BANKSLANE_PART_TIME)],
    "cheetwood": [("cheetwood_concern", "Letter of concern from the attendance officer", "letter",
                   CHEETWOOD_CONCERN),
                  ("cheetwood_pn_monitoring", "Penalty notice 15-day monitoring", "letter",
                   CHEETWOOD_PN_MONITORING)],
}
ALL = {key: (name, kind, body) for key, name, kind, body in
       COMMON + [t for ts in BY_PRESET.values() for t in ts]}


def templates_for(preset: str) -> list[tuple[str, str, str, str]]:
    return BY_PRESET.get(preset, []) + COMMON


@lru_cache(maxsize=16)
def _checked(preset: str) -> tuple[tuple[str, str, str, str], ...]:
    """The preset's templates (key, name, kind, body) sanitised and checked as template_save
    checks a school's own: once a process, the texts being constants."""
    from django.core.exceptions import ValidationError

    from . import merge

    out = {}
    for key, name, kind, body in templates_for(preset):
        clean = merge.sanitise(body)
        try:
            merge.compile_body(clean)
        except merge.MergeError as exc:
            raise ValidationError({"body": str(exc)}) from None
        out[key] = (key, name, kind, clean)
    return tuple(out.values())


def apply(preset: str) -> None:
    """Load the preset's letter templates into the current school schema (checked like any
    template a school saves: sanitised, merge fields known): one INSERT into a new school's
    empty table; a school that has templates has each saved over its own (template_save)."""
    from .models import LetterTemplate
    from .services import template_save

    if LetterTemplate.objects.exists():
        for key, name, kind, body in templates_for(preset):
            template_save(key=key, name=name, kind=kind, body=body, preset=preset,
                          user_name="preset")
        return
    templates = [LetterTemplate(key=key, name=name, kind=kind, subject="", body=body,
                                preset=preset, updated_by_name="preset")
                 for key, name, kind, body in _checked(preset)]
    for t in templates:
        t.full_clean(validate_unique=False)  # the keys are distinct and the table is empty
    LetterTemplate.objects.bulk_create(templates)
