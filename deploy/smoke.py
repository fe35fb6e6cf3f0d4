"""Smoke test of the reference deployment (deploy/try-local.sh start must have run): through
nginx and TLS, a learner registers, logs in and marks a lesson done; an admin's export is
written by the worker process; static files come from nginx, compressed; one app process
killed, the other carries on. Prints each check; exit 1 at the first that fails.

    .venv/bin/python deploy/smoke.py [STATE]"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx

DEFAULT_STATE = Path(os.environ.get("TMPDIR", "/tmp")) / "berakhlak-deploy"  # noqa: S108
STATE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get("STATE", DEFAULT_STATE))
HTTPS = f"https://localhost:{os.environ.get('HTTPS_PORT', '8443')}"
HTTP = f"http://localhost:{os.environ.get('HTTP_PORT', '8080')}"
ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PASSWORD = "kata-sandi-uji-coba-panjang-7"  # noqa: S105 - a throwaway try-out account
ADMIN_NIP = "198503142010011001"


def check(what: str, condition: bool, detail: object = "") -> None:
    print(("ok    " if condition else "FAILED ") + what + (f": {detail}" if not condition else ""))
    if not condition:
        sys.exit(1)


def csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    found = CSRF.search(page.text)
    check(f"GET {path} has a form", page.status_code == 200 and found is not None, page.status_code)
    assert found
    return found.group(1)


def env() -> dict[str, str]:
    values = dict(os.environ)
    for line in (STATE / "etc" / "berakhlak.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def confirm_address(learner: httpx.Client, address: str) -> None:
    """The verification mail, written by the worker into the mail folder with a link to the
    deployment's BASE_URL, confirms the address when followed."""
    settings = env()
    folder = Path(settings.get("BERAKHLAK_MAIL_DIR", ROOT / "var" / "mail"))
    base = settings["BERAKHLAK_BASE_URL"].rstrip("/")
    deadline = time.monotonic() + 30
    link = None
    while link is None:
        for mail in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
            message = message_from_bytes(mail.read_bytes(), policy=policy.default)
            if address not in str(message["To"]):
                continue
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            found = re.search(re.escape(base) + r"(/verify-email/[A-Za-z0-9_-]+)", text)
            link = found.group(1) if found else link
        if link is None:
            if time.monotonic() > deadline:
                check(f"verification mail in {folder} linking to {base}", False)
            time.sleep(0.2)
    check("verification mail written with a link to BASE_URL", True)
    confirmed = learner.post(link, data={"csrf_token": csrf(learner, link)})
    check(
        "address confirmed through the mailed link",
        confirmed.status_code == 303 and "saved=verified" in confirmed.headers["location"],
        confirmed.status_code,
    )
    log = (STATE / "log" / "berakhlak.access.log").read_text()
    check(
        "nginx's access log keeps neither the link's token nor a query string",
        link.rsplit("/", 1)[1] not in log and "/verify-email/..." in log and "?" not in log,
    )


def main() -> None:
    cert = str(STATE / "etc" / "tls" / "berakhlak.crt")
    learner = httpx.Client(base_url=HTTPS, verify=cert, timeout=15)

    plain = httpx.get(f"{HTTP}/login", follow_redirects=False, timeout=5)
    check("http redirects to https", plain.status_code == 301, plain.status_code)
    home = learner.get("/")
    check("home page through nginx and TLS", home.status_code == 200, home.status_code)
    check("answered by the app (request id)", "x-request-id" in home.headers)
    check("one HSTS header", len(home.headers.get_list("strict-transport-security")) == 1)

    css = learner.get("/static/app.css", headers={"Accept-Encoding": "gzip"})
    check("static file from nginx", css.status_code == 200 and "x-request-id" not in css.headers)
    check("static file compressed", css.headers.get("content-encoding") == "gzip")
    versioned = learner.get("/static/app.css?v=1")
    check(
        "versioned static cached a year", "immutable" in versioned.headers.get("cache-control", "")
    )

    ready = learner.get("/readyz").json()
    check("ready", ready["status"] == "ok", ready)

    # a learner: register, log in, open a lesson, mark it done
    register_page = learner.get("/register").text
    # the agency is typed (the page suggests every name in a <datalist>; the server resolves it)
    agency = re.search(r'<datalist id="agency-list"><option value="([^"]+)"', register_page)
    check("registration offers agencies", agency is not None)
    assert agency
    nip = f"19900101201503{int(time.time()) % 2 + 1}{int(time.time() * 1000) % 1000:03d}"
    form = {
        "csrf_token": csrf(learner, "/register"),
        "nip": nip,
        "name": "Peserta Uji Coba",
        "email": f"uji{nip[-6:]}@bkn.go.id",
        "agency": html.unescape(agency.group(1)),
        "work_unit": "Direktorat Uji",
        "position": "Analis",
        "grade": "III/a",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "privacy": "yes",
    }
    registered = learner.post("/register", data=form)
    check("registered", registered.status_code == 303, registered.text[:300])
    confirm_address(learner, form["email"])
    course = learner.get("/courses/berakhlak")
    lesson = re.search(r'href="(/courses/berakhlak/lessons/[^"#?]+)"', course.text)
    check("course page lists lessons", course.status_code == 200 and lesson is not None)
    assert lesson
    token = csrf(learner, lesson.group(1))
    done = learner.post(f"{lesson.group(1)}/done", data={"csrf_token": token})
    check("lesson marked done", done.status_code in (200, 303), done.status_code)
    again = learner.get("/courses/berakhlak").text
    kept = re.search(r"<p>(\d+) (?:dari|of) (\d+) (?:pelajaran|lessons)", again)
    check("progress kept", kept is not None and kept.group(1) == "1", kept and kept.group(0))

    # an admin's export, written by the worker process
    subprocess.run(  # noqa: S603 - our own command
        [
            str(ROOT / ".venv/bin/berakhlak"),
            "users",
            "create",
            "--nip",
            ADMIN_NIP,
            "--name",
            "Admin Uji",
            "--email",
            "admin@uji.go.id",
            "--agency",
            "LB-BKN",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        env=env(),
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    admin = httpx.Client(base_url=HTTPS, verify=cert, timeout=15)
    logged = admin.post(
        "/login",
        data={"csrf_token": csrf(admin, "/login"), "identifier": ADMIN_NIP, "password": PASSWORD},
    )
    check("admin logged in", logged.status_code == 303, logged.status_code)
    # an account made on the command line has not read the privacy notice: asked first
    gated = admin.get("/manage/reports/people")
    check(
        "privacy notice shown before any page",
        gated.status_code == 303 and gated.headers["location"].startswith("/privacy?next="),
        gated.status_code,
    )
    read = admin.post("/privacy", data={"csrf_token": csrf(admin, "/privacy")})
    check("privacy notice acknowledged", read.status_code == 303, read.status_code)
    started = admin.post(
        "/manage/reports/exports",
        data={"csrf_token": csrf(admin, "/manage/reports/people"), "export": "people:csv"},
    )
    check("export queued", started.status_code == 303, started.status_code)
    status_url = started.headers["location"]
    deadline = time.monotonic() + 30
    while "/download" not in (page := admin.get(status_url).text):
        if time.monotonic() > deadline:
            check("export written by the worker within 30 s", False, page[:300])
        time.sleep(0.2)
    check("export written by the worker", True)
    download = re.search(r'href="([^"]+/download)"', page)
    assert download
    csv = admin.get(download.group(1))
    check("export downloads", csv.status_code == 200 and nip in csv.text, csv.status_code)

    # one app process dies: nginx sends everything to the other
    victim = int((STATE / "run" / "web-8001.app.pid").read_text())
    os.kill(victim, signal.SIGKILL)
    answers = [learner.get("/courses/berakhlak").status_code for _ in range(10)]
    check("one app process killed, every request still answered", answers == [200] * 10, answers)
    print("smoke test passed")


if __name__ == "__main__":
    main()
