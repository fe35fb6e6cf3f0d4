"""The authoring workspace: trainers and admins create a course or open one for editing, edit
its files in the browser, see every problem by file and line, preview the draft as learners
will see it (quizzes in a "try it" mode that records nothing), publish it, read its history
with a diff of each change, and roll back."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from app.db import SessionDep
from app.forms import FormData, RawForm, RowId, client_address, form_int
from app.i18n import N_, tr
from app.templating import render
from modules.agencies import service as agencies
from modules.authoring import archive, service
from modules.authoring.cli import limits_from
from modules.authoring.dependencies import AuthorDep, AuthoredDep, DraftedDep
from modules.courses import service as courses
from modules.courses.service import CourseView
from modules.quizzes import service as quizzes

router = APIRouter()
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")


def _checked(request: Request, session: Any, draft: Any) -> service.Checked:
    """The draft checked (this app's cache of recent checks)."""
    cache = getattr(request.app.state, "draft_checks", None)
    if cache is None:
        cache = request.app.state.draft_checks = service.CheckCache()
    return cache.get(session, draft)


def _base(course_id: str) -> str:
    return f"/author/courses/{course_id}"


def _kind(path: str) -> str:
    """Which part of the format a file is, for the help shown beside it."""
    name = path.rsplit("/", 1)[-1]
    if path == courses.COURSE_FILE:
        return "course"
    if name == "module.md":
        return "module"
    if name.endswith(".quiz.md"):
        return "quiz"
    if name.endswith(".plan.md"):
        return "plan"
    if name.endswith(".md"):
        return "lesson"
    return "other"


def _index(
    request: Request,
    session: Any,
    who: Any,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    """The courses the person may author, live or only drafted, and the form to start one."""
    live = {c.id: c for c in request.app.state.catalogue.courses()}
    rows = [
        {"id": d.course_id, "draft": d, "live": live.get(d.course_id)}
        for d in service.drafts(session)
        if who.scope.allows(d.course_id)
    ]
    drafted = {r["id"] for r in rows}
    rows += [
        {"id": course_id, "draft": None, "live": view}
        for course_id, view in live.items()
        if course_id not in drafted and who.scope.allows(course_id)
    ]
    rows.sort(key=lambda r: str(r["id"]))
    context = {
        "rows": rows,
        "may_create": who.scope.create,
        "values": values or {},
        "errors": {"course": error} if error else {},
    }
    return render(request, "authoring/index.html", context, status_code=status_code)


@router.get("/author")
def index(request: Request, session: SessionDep, who: AuthorDep) -> Response:
    """The courses the person may author, and a form to start one."""
    return _index(request, session, who)


@router.post("/author/courses")
def create(request: Request, session: SessionDep, who: AuthorDep, form: FormData) -> Response:
    """Start a new course from the skeleton (owned by the author's agency; an admin's is
    national)."""
    values = {"course_id": form.get("course_id", ""), "title": form.get("title", "")}
    agency = None if "admin" in service.roles(session, who.user.id) else who.user.agency_id
    try:
        service.create(
            session=session,
            course_id=values["course_id"],
            title=values["title"],
            actor_id=who.user.id,
            agency_id=agency,
            address=client_address(request),
        )
    except service.DraftError as error:
        session.rollback()
        message = tr(error.message, **error.values)
        return _index(request, session, who, values, message, status_code=422)
    return RedirectResponse(_base(values["course_id"].strip()), status_code=303)


def _overview(
    request: Request,
    session: Any,
    course: Any,
    *,
    notice: str = "",
    notes: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    draft = course.draft
    context: dict[str, Any] = {
        "course_id": course.course_id,
        "draft": draft,
        "notice": notice,
        "notes": notes or [],
        "formats": quizzes.BANK_FORMATS,
    }
    if draft is not None:
        checked = _checked(request, session, draft)
        context.update(
            files=service.listing(session, course.course_id),
            checked=checked,
            unpublished=service.unpublished(session, draft),
            kind=_kind,
        )
    context["live"] = request.app.state.catalogue.get(course.course_id)
    access = courses.access_of(session=session, course_id=course.course_id)
    chosen = json.loads(access.agencies) if access.agencies is not None else None
    known = {a.id: a for a in agencies.list_active(session=session)}
    owner = known.get(access.owner_agency_id) if access.owner_agency_id else None
    people = [draft.updated_by, draft.review_asked_by, draft.approved_by] if draft else []
    context.update(
        access=access,
        owner=owner,
        offered=[known[a] for a in chosen if a in known] if chosen is not None else None,
        may_set_access=service.may_set_access(
            session, course.author.user.id, course.author.user.agency_id, course.course_id
        ),
        review=service.needs_review(session, course.course_id),
        names=service.names(session, [p for p in people if p]),
        me=course.author.user.id,
    )
    return render(request, "authoring/course.html", context, status_code=status_code)


@router.get("/author/courses/{course_id}")
def course_page(
    request: Request, session: SessionDep, course: AuthoredDep, done: str = ""
) -> Response:
    """A course's draft: its files, every problem by file and line, publish and preview."""
    notices = {
        "published": tr("Published: learners see this version now."),
        "rolled-back": tr("Rolled back: learners see the version you chose."),
        "uploaded": tr("The archive's files are in the draft."),
        "deleted": tr("The file is deleted from the draft."),
        "access": tr("Saved: who is offered the course and its review rule."),
        "review-asked": tr("Review asked: another trainer of the course or an admin approves it."),
        "approved": tr("Approved: this revision may be published."),
    }
    return _overview(request, session, course, notice=notices.get(done, ""))


@router.post("/author/courses/{course_id}/draft")
def start_draft(request: Request, session: SessionDep, course: AuthoredDep) -> Response:
    """Open a live course for editing: a draft made of its live version's files."""
    draft = service.open_draft(
        session=session, course_id=course.course_id, actor_id=course.author.user.id
    )
    if draft is None:
        return _overview(
            request,
            session,
            course,
            notice=tr(
                "This course's files were not kept with its live version: run "
                "'berakhlak content sync' once, then open it again."
            ),
            status_code=409,
        )
    return RedirectResponse(_base(course.course_id), status_code=303)


def _editor(
    request: Request,
    session: Any,
    course: Any,
    path: str,
    text: str,
    *,
    revision: int,
    notice: str = "",
    error: str = "",
    conflict: Any = None,
    status_code: int = 200,
) -> Response:
    draft = course.draft
    checked = _checked(request, session, draft)
    stats = _statistics(request, session, course.course_id, path) if path else None
    return render(
        request,
        "authoring/edit.html",
        {
            "course_id": course.course_id,
            "draft": draft,
            "file_path": path,  # not "path": base.html has its own
            "text": text,
            "revision": revision,
            "problems": checked.by_file.get(path, []),
            "other_problems": len(checked.errors) - len(checked.by_file.get(path, [])),
            "kind": _kind(path) if path else "lesson",
            "notice": notice,
            "error": error,
            "conflict": conflict,
            "stats": stats,
        },
        status_code=status_code,
    )


def _statistics(request: Request, session: Any, course_id: str, path: str) -> Any:
    """For a quiz file of a live course: how its questions performed, by question id."""
    if not path.endswith(".quiz.md"):
        return None
    view = request.app.state.catalogue.get(course_id)
    if view is None:
        return None
    for module in view.content.modules:
        for quiz in module.quizzes:
            if quiz.source == path:
                count, items = quizzes.item_statistics(
                    session=session, course_id=course_id, quiz=quiz
                )
                return {"count": count, "items": {i.question.id: i for i in items}, "quiz": quiz}
    return None


@router.get("/author/courses/{course_id}/edit")
def edit_page(
    request: Request, session: SessionDep, course: DraftedDep, path: str = ""
) -> Response:
    """One file of the draft in a plain textarea, its problems by line and the format's help
    beside it; with no path (or a new one), a form for a new file."""
    draft = course.draft
    assert draft is not None
    text = ""
    if path:
        data = service.files(session, course.course_id).get(path)
        if data is None:
            raise HTTPException(404)
        if not path.endswith(tuple(archive.TEXT_TYPES)):
            return RedirectResponse(_base(course.course_id), status_code=303)
        text = data.decode("utf-8", "replace")
    return _editor(request, session, course, path, text, revision=draft.revision)


@router.post("/author/courses/{course_id}/edit")
def save_file(
    request: Request, session: SessionDep, course: DraftedDep, form: FormData
) -> Response:
    """Save one text file on the revision the author loaded; a newer revision (someone else
    saved meanwhile) keeps the author's text on the page and says who and when."""
    draft = course.draft
    assert draft is not None
    path, text = form.get("path", "").strip(), form.get("text", "")
    revision = form_int(form.get("revision"))
    try:
        new = service.save(
            session=session,
            draft=draft,
            path=path,
            data=text.encode(),
            revision=revision,
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except service.Conflict as conflict:
        session.refresh(draft)
        return _editor(
            request,
            session,
            course,
            path,
            text,
            revision=revision,
            conflict=conflict,
            status_code=409,
        )
    except service.DraftError as error:
        session.rollback()
        session.refresh(draft)
        return _editor(
            request,
            session,
            course,
            path,
            text,
            revision=revision,
            error=tr(error.message, **error.values),
            status_code=422,
        )
    session.refresh(draft)
    return RedirectResponse(
        f"{_base(course.course_id)}/edit?path={quote(path)}&saved={new}", status_code=303
    )


@router.post("/author/courses/{course_id}/delete")
def delete_file(
    request: Request, session: SessionDep, course: DraftedDep, form: FormData
) -> Response:
    draft = course.draft
    assert draft is not None
    revision = form_int(form.get("revision"))
    try:
        service.remove(
            session=session,
            draft=draft,
            path=form.get("path", ""),
            revision=revision,
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except (service.Conflict, service.DraftError) as refused:
        return _refused(request, session, course, refused)
    return RedirectResponse(f"{_base(course.course_id)}?done=deleted", status_code=303)


def _refused(request: Request, session: Any, course: Any, refused: Exception) -> Response:
    """The course page again, saying why a change was not made (nothing of it was kept):
    409 when someone else saved the draft meanwhile, 422 for a change refused as it is."""
    session.rollback()
    if course.draft is not None:
        session.refresh(course.draft)
    if isinstance(refused, service.Conflict):
        return _overview(request, session, course, notice=_conflict_text(refused), status_code=409)
    assert isinstance(refused, service.DraftError)
    notice = tr(refused.message, **refused.values)
    return _overview(request, session, course, notice=notice, status_code=422)


def _conflict_text(conflict: service.Conflict) -> str:
    return tr(
        "Someone else changed this draft meanwhile ({name}, revision {revision}): "
        "nothing of yours was saved. Reload the page and make your change again.",
        name=conflict.by,
        revision=conflict.revision,
    )


@router.post("/author/courses/{course_id}/upload")
async def upload(request: Request, session: SessionDep, course: DraftedDep) -> Response:
    """An image or attachment into a folder of the draft (an image needs its description:
    the page then shows the markdown to paste), or a zip of the whole course folder, whose
    files then replace the draft's. Every file is checked as the CLI's import checks it."""
    draft = course.draft
    assert draft is not None
    settings = request.app.state.settings
    form = await request.form(max_part_size=settings.upload_max_bytes)
    given = form.get("file")
    folder = str(form.get("folder", "")).strip().strip("/")
    alt = " ".join(str(form.get("alt", "")).split())
    revision = form_int(form.get("revision"))
    if not isinstance(given, UploadFile) or not given.filename:
        return _overview(
            request, session, course, notice=tr("Choose a file to upload."), status_code=422
        )
    data = await given.read(settings.upload_max_bytes + 1)
    name = given.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    try:
        if name.lower().endswith(".zip"):
            intake = archive.unpack(data, limits_from(settings))
            if intake.problems:
                return _overview(
                    request,
                    session,
                    course,
                    notice=tr("The archive was not taken in:") + " " + "; ".join(intake.problems),
                    status_code=422,
                )
            service.replace_all(
                session=session,
                draft=draft,
                new_files=intake.files,
                revision=revision,
                actor_id=course.author.user.id,
                action="archive",
                address=client_address(request),
            )
            return RedirectResponse(f"{_base(course.course_id)}?done=uploaded", status_code=303)
        path = f"{folder}/{name}" if folder else name
        image = name.lower().endswith(IMAGE_SUFFIXES)
        if image and not alt:
            raise service.DraftError(
                N_("Describe the image for learners who cannot see it (its alt text).")
            )
        service.save(
            session=session,
            draft=draft,
            path=path,
            data=data,
            revision=revision,
            actor_id=course.author.user.id,
            address=client_address(request),
            max_bytes=settings.upload_max_bytes,
        )
    except (service.Conflict, service.DraftError) as refused:
        return _refused(request, session, course, refused)
    session.refresh(draft)
    snippet = f"![{alt}]({name})" if image else f"[{name}]({name})"
    return _overview(
        request,
        session,
        course,
        notice=tr(
            "Uploaded as {path}. In a lesson of the same folder, write: {snippet}",
            path=path,
            snippet=snippet,
        ),
    )


@router.post("/author/courses/{course_id}/import")
async def import_bank(request: Request, session: SessionDep, course: DraftedDep) -> Response:
    """A Moodle question file (GIFT, Aiken, Moodle XML) into a module of the draft as a quiz
    file; every question it could not keep, or kept with a loss, listed by its line."""
    draft = course.draft
    assert draft is not None
    settings = request.app.state.settings
    form = await request.form(max_part_size=settings.upload_max_bytes)
    given = form.get("file")
    kind = str(form.get("format", ""))
    folder = str(form.get("folder", "")).strip().strip("/")
    revision = form_int(form.get("revision"))
    if not isinstance(given, UploadFile) or not given.filename or kind not in quizzes.BANK_FORMATS:
        return _overview(
            request,
            session,
            course,
            notice=tr("Choose the question file and its format."),
            status_code=422,
        )
    data = await given.read(settings.upload_max_bytes + 1)
    stem = given.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    quiz_id = str(form.get("quiz_id", "")).strip() or quizzes.bank_slug(stem)
    title = " ".join(str(form.get("title", "")).split()) or stem
    try:
        if len(data) > settings.upload_max_bytes:
            raise service.DraftError(
                N_("The file is {size} MB, more than {limit} MB."),
                size=round(len(data) / 1_048_576, 1),
                limit=round(settings.upload_max_bytes / 1_048_576, 1),
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise service.DraftError(
                N_("The file is not UTF-8 text: save it again as UTF-8.")
            ) from None
        result = quizzes.convert_bank(kind, text, quiz_id, title, 70)
        notes = [tr("line {line}: {note}", line=line, note=m) for line, m in result.skipped]
        if not result.count:
            return _overview(
                request,
                session,
                course,
                notice=tr("No question could be imported."),
                notes=notes,
                status_code=422,
            )
        path = f"{folder}/{quiz_id}.quiz.md" if folder else f"{quiz_id}.quiz.md"
        service.save(
            session=session,
            draft=draft,
            path=path,
            data=result.text.encode(),
            revision=revision,
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except (service.Conflict, service.DraftError) as refused:
        return _refused(request, session, course, refused)
    session.refresh(draft)
    return _overview(
        request,
        session,
        course,
        notice=tr(
            "{count} question(s) imported into {path}; set its minutes, pass mark and the "
            "course's JP, then check the notes below.",
            count=result.count,
            path=path,
        ),
        notes=notes,
    )


@router.post("/author/courses/{course_id}/access")
def set_access(
    request: Request, session: SessionDep, course: AuthoredDep, form: RawForm
) -> Response:
    """Who is offered the course (every agency, or the agencies listed by code; the owner's
    always) and whether each publish needs a reviewer's approval (accredited: always)."""
    who = course.author.user
    if not service.may_set_access(session, who.id, who.agency_id, course.course_id):
        raise HTTPException(403)
    audience = str(form.get("audience", ""))
    chosen: list[int] | None = None
    if audience != "all":
        by_code = {code.upper(): a for code, a in agencies.all_by_code(session=session).items()}
        codes = str(form.get("agencies", "")).replace(",", " ").split()
        unknown = [c for c in codes if c.upper() not in by_code]
        if unknown:
            return _overview(
                request,
                session,
                course,
                notice=tr("Unknown agency codes: {codes}", codes=", ".join(unknown)),
                status_code=422,
            )
        chosen = [int(by_code[c.upper()].id or 0) for c in codes]
    service.change_access(
        session=session,
        course_id=course.course_id,
        agencies=chosen,
        review=form.get("review") == "on",
        accredited=form.get("accredited") == "on",
        actor_id=who.id,
        address=client_address(request),
    )
    request.app.state.catalogue.refresh(force=True)
    return RedirectResponse(f"{_base(course.course_id)}?done=access", status_code=303)


def _revision(form: Any) -> int:
    return form_int(form.get("revision"))


@router.post("/author/courses/{course_id}/review")
def ask_review(
    request: Request, session: SessionDep, course: DraftedDep, form: FormData
) -> Response:
    """Ask the course's other trainers (or an admin) to review this revision."""
    draft = course.draft
    assert draft is not None
    try:
        service.ask_review(
            session=session,
            draft=draft,
            revision=_revision(form),
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except service.Conflict as refused:
        return _refused(request, session, course, refused)
    return RedirectResponse(f"{_base(course.course_id)}?done=review-asked", status_code=303)


@router.post("/author/courses/{course_id}/approve")
def approve(request: Request, session: SessionDep, course: DraftedDep, form: FormData) -> Response:
    """A reviewer approves the revision they read (never its last author)."""
    draft = course.draft
    assert draft is not None
    try:
        service.approve(
            session=session,
            draft=draft,
            revision=_revision(form),
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except (service.Conflict, service.DraftError) as refused:
        return _refused(request, session, course, refused)
    return RedirectResponse(f"{_base(course.course_id)}?done=approved", status_code=303)


# ---- preview ---------------------------------------------------------------------------


def _preview_view(request: Request, session: Any, course: Any) -> tuple[CourseView, Any]:
    checked = _checked(request, session, course.draft)
    if checked.content is None:
        raise _NotPreviewable
    return CourseView(0, checked.content), checked


class _NotPreviewable(Exception):
    pass


def _draft_html(html: str, course_id: str) -> str:
    """A preview's HTML: links to the course's lessons and assets go to the draft's."""
    base = _base(course_id)
    return html.replace(f'"/courses/{course_id}/lessons/', f'"{base}/preview/lessons/').replace(
        '"/assets/', f'"{base}/preview/assets/'
    )


def _no_preview(request: Request, session: Any, course: Any) -> Response:
    return _overview(
        request,
        session,
        course,
        notice=tr("The draft has problems: fix them (listed below) to preview it."),
        status_code=409,
    )


@router.get("/author/courses/{course_id}/preview")
def preview_course(request: Request, session: SessionDep, course: DraftedDep) -> Response:
    """The draft's course page as a learner will meet it: modules, lessons, quizzes."""
    try:
        view, _checked = _preview_view(request, session, course)
    except _NotPreviewable:
        return _no_preview(request, session, course)
    return render(
        request,
        "authoring/preview_course.html",
        {
            "view": view,
            "course_id": course.course_id,
            "draft": course.draft,
            "intro": _draft_html(view.content.intro_html, course.course_id),
        },
    )


@router.get("/author/courses/{course_id}/preview/lessons/{lesson_id}")
def preview_lesson(
    request: Request, session: SessionDep, course: DraftedDep, lesson_id: str
) -> Response:
    try:
        view, _checked = _preview_view(request, session, course)
    except _NotPreviewable:
        return _no_preview(request, session, course)
    ref = view.lesson(lesson_id)
    if ref is None:
        raise HTTPException(404)
    after = ref.after
    after_url = None
    if after is not None:
        after_url = (
            _base(course.course_id)
            + "/preview"
            + after.url.split(f"/courses/{course.course_id}", 1)[1]
        )
    return render(
        request,
        "authoring/preview_lesson.html",
        {
            "view": view,
            "ref": ref,
            "course_id": course.course_id,
            "draft": course.draft,
            "html": _draft_html(ref.lesson.html, course.course_id),
            "after_url": after_url,
        },
    )


@router.get("/author/courses/{course_id}/preview/assets/{sha256}/{filename}")
def preview_asset(
    request: Request, session: SessionDep, course: DraftedDep, sha256: str, filename: str
) -> Response:
    """An image or attachment of the draft (not yet published, so not under /assets)."""
    assert course.draft is not None
    checked = _checked(request, session, course.draft)
    data = checked.assets.get(sha256)
    if data is None:
        raise HTTPException(404)
    media = "image/svg+xml" if filename.lower().endswith(".svg") else None
    for suffix, kind in (
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".gif", "image/gif"),
        (".webp", "image/webp"),
    ):
        if filename.lower().endswith(suffix):
            media = kind
    headers = {
        "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
        "Cache-Control": "private, no-store",
    }
    if media is None:
        headers["Content-Disposition"] = "attachment"
    return Response(data, media_type=media or "application/octet-stream", headers=headers)


def _preview_quiz(request: Request, session: Any, course: Any, quiz_id: str) -> Any:
    """The draft's course, and the quiz in the URL with its module (404 if none)."""
    view, _checked = _preview_view(request, session, course)
    found = view.quiz(quiz_id)
    if found is None:
        raise HTTPException(404)
    return view, found[0], found[1]


def _quiz_items(quiz: Any, form: Any = None) -> list[dict[str, Any]]:
    """The questions of a quiz as the attempt page lays them out (options shuffled as the
    quiz says), with what the author gave when the form came back."""
    items = []
    rng = random.Random()  # noqa: S311 - an order to look at, not a secret
    for number, question in enumerate(quiz.questions, start=1):
        order = list(range(len(question.options)))
        if quiz.shuffle_options and question.type in ("single", "multiple", "scenario"):
            rng.shuffle(order)
        if form is not None and form.get(f"order-{question.id}"):
            try:
                given = [int(i) for i in str(form.get(f"order-{question.id}")).split(",")]
                if sorted(given) == order or sorted(given) == sorted(order):
                    order = given
            except ValueError:
                pass
        values: dict[str, Any] = {}
        answer = None
        if form is not None:
            answer = quizzes.answer_from_form(question, form)
            values = quizzes.form_values(question, answer) if answer is not None else {}
        items.append(
            {"q": question, "n": number, "order": order, "values": values, "answer": answer}
        )
    return items


@router.get("/author/courses/{course_id}/preview/quizzes/{quiz_id}")
def preview_quiz(
    request: Request, session: SessionDep, course: DraftedDep, quiz_id: str
) -> Response:
    """A quiz of the draft to try: answered and graded here, recorded nowhere."""
    try:
        view, module, quiz = _preview_quiz(request, session, course, quiz_id)
    except _NotPreviewable:
        return _no_preview(request, session, course)
    return render(
        request,
        "authoring/preview_quiz.html",
        {
            "view": view,
            "module": module,
            "quiz": quiz,
            "items": _quiz_items(quiz),
            "course_id": course.course_id,
            "draft": course.draft,
            "field": quizzes.field,
            "graded": None,
        },
    )


@router.post("/author/courses/{course_id}/preview/quizzes/{quiz_id}")
def try_quiz(
    request: Request, session: SessionDep, course: DraftedDep, quiz_id: str, form: RawForm
) -> Response:
    """Grade what the author answered, as an attempt would be graded; write nothing."""
    try:
        view, module, quiz = _preview_quiz(request, session, course, quiz_id)
    except _NotPreviewable:
        return _no_preview(request, session, course)
    items = _quiz_items(quiz, form)
    earned = total = 0.0
    for item in items:
        question = item["q"]
        item["score"] = quizzes.score(question, item["answer"])
        if item["score"] is not None:
            earned += item["score"]
            total += 1
    percent = round(100 * earned / total) if total else None
    passed = percent is not None and (quiz.pass_mark is None or percent >= quiz.pass_mark)
    return render(
        request,
        "authoring/preview_quiz.html",
        {
            "view": view,
            "module": module,
            "quiz": quiz,
            "items": items,
            "course_id": course.course_id,
            "draft": course.draft,
            "field": quizzes.field,
            "graded": {"percent": percent, "passed": passed},
        },
    )


# ---- publish, history, rollback ---------------------------------------------------------


@router.post("/author/courses/{course_id}/publish")
def publish(request: Request, session: SessionDep, course: DraftedDep, form: FormData) -> Response:
    """Make the draft the live version (refused while it has problems, or when it changed
    since the author's page was loaded)."""
    draft = course.draft
    assert draft is not None
    revision = form_int(form.get("revision"))
    try:
        version_id, problems = service.publish(
            engine=request.app.state.engine,
            session=session,
            draft=draft,
            revision=revision,
            actor_id=course.author.user.id,
            address=client_address(request),
        )
    except (service.Conflict, service.DraftError) as refused:
        return _refused(request, session, course, refused)
    if problems:
        return _overview(
            request,
            session,
            course,
            notice=tr("Not published: the draft has problems (listed below)."),
            status_code=422,
        )
    request.app.state.catalogue.refresh(force=True)
    return RedirectResponse(f"{_base(course.course_id)}?done=published", status_code=303)


@router.get("/author/courses/{course_id}/history")
def history(request: Request, session: SessionDep, course: AuthoredDep) -> Response:
    """Every change of the course's live version: who, when, what changed."""
    rows = courses.publications(session, course.course_id)
    names = service.names(session, [r.actor_id for r in rows if r.actor_id is not None])
    live = request.app.state.catalogue.get(course.course_id)
    labels = {
        v.id: f"{v.version}+{v.content_hash[:12]}"
        for v in courses.course_versions(session=session, course_id=course.course_id)
    }
    entries = [
        {
            "row": r,
            "summary": json.loads(r.summary),
            "by": names.get(r.actor_id or 0, ""),
            "label": labels.get(r.version_id, "?"),
        }
        for r in rows
    ]
    return render(
        request,
        "authoring/history.html",
        {
            "course_id": course.course_id,
            "entries": entries,
            "live_version": live.version_id if live else None,
        },
    )


@router.get("/author/courses/{course_id}/history/{publication_id}")
def change(
    request: Request, session: SessionDep, course: AuthoredDep, publication_id: RowId
) -> Response:
    """One change: its summary and, file by file, what differs from the version before."""
    row = next(
        (r for r in courses.publications(session, course.course_id) if r.id == publication_id),
        None,
    )
    if row is None:
        raise HTTPException(404)
    diffs = courses.diff(session, row.previous_version_id, row.version_id)
    names = service.names(session, [row.actor_id] if row.actor_id else [])
    return render(
        request,
        "authoring/change.html",
        {
            "course_id": course.course_id,
            "row": row,
            "summary": json.loads(row.summary),
            "diffs": diffs,
            "by": names.get(row.actor_id or 0, ""),
        },
    )


@router.post("/author/courses/{course_id}/rollback")
def rollback(
    request: Request, session: SessionDep, course: AuthoredDep, form: FormData
) -> Response:
    """Make an earlier version live again."""
    version_id = form_int(form.get("version_id"))
    if version_id < 1:
        raise HTTPException(422)
    done = service.roll_back(
        session=session,
        course_id=course.course_id,
        version_id=version_id,
        actor_id=course.author.user.id,
        address=client_address(request),
    )
    if not done:
        raise HTTPException(422)
    request.app.state.catalogue.refresh(force=True)
    return RedirectResponse(f"{_base(course.course_id)}?done=rolled-back", status_code=303)
