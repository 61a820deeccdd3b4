"""The on-call hours page and its CSV in the browser view, over real HTTP against the whole App: the same figures as
`jourbot roster hours`, for supervisors only. (The arithmetic is checked by hand in tests/unit/test_pay_hours.py.)"""

from __future__ import annotations

import re

from tests.component.test_web import ask_link, start
from tests.harness.component import ANNA, CHEF


async def test_a_supervisor_reads_the_months_hours_and_downloads_them_and_a_responder_may_not(tmp_path):
    bot, web = await start(tmp_path)
    try:
        await web.log_in(await ask_link(bot, CHEF))
        status, _, page = await web.get("/hours?month=2026-10")
        page = re.sub(r' data-label="[^"]*"', "", page)  # each cell's column name, for a phone
        assert status == 200 and "Jourtimmar" in page and "oktober 2026" in page
        # Anna is the test unit's primary round the clock: October has 745 hours (the clocks fall back on the 25th).
        anna = page[page.index("<td>Anna A</td>"):]
        anna = anna[:anna.index("</tr>")]
        assert "<td>Testjouren</td><td>Primärjour</td>" in anna and ">745,00<" in anna
        assert "Storhelg" in page and "Vardagsnatt" in page and "Övrig jourtid" in page
        assert '<a href="?month=2026-09">' in page and '<a href="?month=2026-11">' in page
        status, _, csv = await web.get("/hours.csv?month=2026-10")
        lines = csv.splitlines()
        assert status == 200 and lines[0] == ("month,user,name,unit,role,hours,big_holiday,holiday,weekend,"
                                             "weekday_night,other")
        assert "2026-10,@anna.a:localhost,Anna A,testjour,primary,745.00,0.00," in csv
        assert (await web.get("/hours?month=oktober"))[0] == 400
        await web.close()
        web = type(web)(bot.app.web.bound_port)
        await web.log_in(await ask_link(bot, ANNA))
        assert (await web.get("/hours"))[0] == 403
        assert (await web.get("/hours.csv?month=2026-10"))[0] == 403
    finally:
        await web.close()
        await bot.stop()
