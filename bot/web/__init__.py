"""The supervisors' browser view: aiohttp routes, Jinja2 templates, and passwordless login by one-time links.

server.py     routes, the session check, CSRF on every form, security headers
auth.py       one-time links (from !webb), sessions, CSRF tokens; only hashes of tokens are stored
rosterdata.py every question the view asks the roster engine, in one place
timeline.py   shifts and gaps laid out on a week or a month
alarmview.py  an alarm's timeline from the audit trail, never its free text
charts.py     statistics as server-rendered SVG
pagesview.py  who read their page, and what became of each SMS (never its text or number)
checkinview.py, readinessview.py, leaveform.py   check-ins on the now page; the readiness page; the leave form
"""
