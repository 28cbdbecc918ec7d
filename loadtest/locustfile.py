"""08:45–09:00 in every school at once, as Locust users (run by `python -m loadtest`, never imported by Django).

- teachers open a register and save it (30 pupils, a few lates and absences), as the page's htmx does;
- office staff poll the missing-register board and sign in late arrivals;
- parents report absences; an attendance officer opens the casework queue.

The plan (schools, their groups and signed-in sessions) comes from LOADTEST_PLAN; every save the server
acknowledged is appended to LOADTEST_LEDGER, so the runner can check that each acknowledged mark is stored.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re

from locust import FastHttpUser, between, constant_pacing, task

PLAN = json.loads(open(os.environ["LOADTEST_PLAN"]).read())  # noqa: SIM115 - read once at start
DAY = dt.date.fromisoformat(PLAN["day"])
SCHOOLS = PLAN["schools"]
LEDGER = open(os.environ["LOADTEST_LEDGER"], "a", buffering=1)  # noqa: SIM115 - one line per save
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SAVED = re.compile(r"Register saved: (\d+) mark")
PUPIL = re.compile(r'name="code_(\d+)"')
VERSION = re.compile(r'name="version_(\d+)" value="(\d*)"')
# Every register of the day once, AM first: teachers share one queue so no register is taken twice.
# The last group of each school is the office's (late arrivals), so a sign-in never races a teacher.
REGISTERS = iter([(s["school"], s["groups"][g], session) for session in ("AM", "PM")
                  for g in range(max(len(s["groups"]) for s in SCHOOLS)) for s in SCHOOLS
                  if g < len(s["groups"]) - 1])
TEACHERS = int(os.environ["LOADTEST_TEACHERS"])  # set by the runner (python -m loadtest --teachers, --pacing)
PACING = float(os.environ["LOADTEST_TEACHER_PACING"])
SESSIONS = {s["school"]: s["users"] for s in SCHOOLS}
REPORTED: dict[str, int] = {}  # school -> the days ahead its parent has reported, shared by all parents


def _code(n: int) -> tuple[str, str]:
    """A usual class: mostly present, three lates, two absences not yet explained (a teacher enters N; the
    office records the reason later)."""
    if n in (3, 13, 23):
        return "L", str(5 + n % 7)
    if n in (7, 17):
        return "N", ""
    return "/", ""


class Person(FastHttpUser):
    abstract = True
    kind = ""

    def signed_in(self, school: str) -> None:
        self.client.cookiejar.clear()
        self.client.cookiejar.set_cookie(_cookie("sessionid", SESSIONS[school][self.kind]))

    def token_from(self, html: str) -> str:
        found = TOKEN.search(html)
        return found.group(1) if found else ""


def _cookie(name: str, value: str):
    from http.cookiejar import Cookie

    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None,
                  None, {})


class Teacher(Person):
    kind = "teacher"
    fixed_count = TEACHERS
    wait_time = constant_pacing(PACING)

    @task
    def mark_a_register(self) -> None:
        taken = next(REGISTERS, None)
        if taken is None:
            return  # every register of the day is saved
        school, group, session = taken
        self.signed_in(school)
        url = f"/s/{school}/registers/{group}/{DAY.isoformat()}/{session}/"
        with self.client.get(url, name="register: open", catch_response=True) as page:
            if page.status_code != 200 or not page.text:
                page.failure(f"HTTP {page.status_code}")
                return
            html = page.text
        pupils = [int(p) for p in PUPIL.findall(html)]
        versions = dict(VERSION.findall(html))
        data = {"csrfmiddlewaretoken": self.token_from(html), "reason": ""}
        sent = []
        for n, pupil in enumerate(pupils):
            code, minutes = _code(n)
            code = "\\" if code == "/" and session == "PM" else code
            data.update({f"code_{pupil}": code, f"minutes_{pupil}": minutes, f"note_{pupil}": "",
                         f"version_{pupil}": versions.get(str(pupil), "")})
            sent.append([pupil, code])
        LEDGER.write(json.dumps({"kind": "attempt", "session": session, "marks": sent}) + "\n")
        with self.client.post(url, data=data, name="register: save", catch_response=True,
                              headers={"HX-Request": "true", "Referer": f"http://127.0.0.1{url}"}) as saved:
            found = SAVED.search(saved.text or "")
            if saved.status_code != 200 or found is None:
                saved.failure(f"HTTP {saved.status_code}, no 'Register saved'")
                return
        LEDGER.write(json.dumps({"kind": "register", "session": session, "written": int(found.group(1)),
                                 "marks": sent}) + "\n")


class Office(Person):
    kind = "office"
    fixed_count = int(os.environ.get("LOADTEST_OFFICE", "8"))
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.schools = itertools.cycle(random.sample(SCHOOLS, len(SCHOOLS)))

    @task(4)
    def poll_board(self) -> None:
        school = next(self.schools)
        self.signed_in(school["school"])
        self.client.get(f"/s/{school['school']}/registers/board/?date={DAY.isoformat()}", name="board: poll",
                        headers={"HX-Request": "true"})

    @task(1)
    def sign_in_late(self) -> None:
        school = next(self.schools)
        if not school["late_pupils"]:
            return
        pupil = school["late_pupils"].pop()
        self.signed_in(school["school"])
        url = f"/s/{school['school']}/registers/late/"
        page = self.client.get(url, name="late: open")
        data = {"csrfmiddlewaretoken": self.token_from(page.text or ""), "pupil": pupil, "date": DAY.isoformat(),
                "time": "09:07", "q": ""}  # L or U: the code depends on the year group's close time
        LEDGER.write(json.dumps({"kind": "attempt", "session": "AM", "marks": [[pupil, "L|U"]]}) + "\n")
        with self.client.post(url, data=data, name="late: sign in", catch_response=True,
                              headers={"Referer": f"http://127.0.0.1{url}"}, allow_redirects=False) as done:
            if done.status_code != 302:
                done.failure(f"HTTP {done.status_code}")
                return
        LEDGER.write(json.dumps({"kind": "late", "session": "AM", "written": 1, "marks": [[pupil, "L|U"]]}) + "\n")


class Parent(Person):
    kind = "parent"
    fixed_count = int(os.environ.get("LOADTEST_PARENTS", "3"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.schools = itertools.cycle(random.sample(SCHOOLS, len(SCHOOLS)))

    @task
    def report_absence(self) -> None:
        school = next(self.schools)
        slug = school["school"]
        ahead = REPORTED.get(slug, 0) + 1
        REPORTED[slug] = ahead
        day = DAY
        for _ in range(ahead):  # the school day `ahead` after today: two parents never report the same day
            day += dt.timedelta(days=1)
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
        self.signed_in(slug)
        page = self.client.get("/parent/report/", name="parent: open report")
        data = {"csrfmiddlewaretoken": self.token_from(page.text or ""), "child": school["child"],
                "first_date": day.isoformat(), "last_date": day.isoformat(), "sessions": "BOTH",
                "category": "illness", "message": "Temperature overnight"}
        with self.client.post("/parent/report/", data=data, name="parent: report absence", catch_response=True,
                              headers={"Referer": "http://127.0.0.1/parent/report/"}, allow_redirects=False) as sent:
            if sent.status_code != 302:
                sent.failure(f"HTTP {sent.status_code}")


class Officer(Person):
    kind = "officer"
    fixed_count = 1
    wait_time = between(1, 2)

    @task
    def open_queue(self) -> None:
        school = random.choice(SCHOOLS)["school"]
        self.signed_in(school)
        self.client.get(f"/s/{school}/casework/", name="casework: queue")
