"""A row id in a URL or a form past what the database's INTEGER holds (PostgreSQL's is 32 bits)
is malformed input: refused (400/422) or not found (404), never an overflow in the driver (a 500). Found by the HTML
fuzzing on PostgreSQL: 2147483648 as an agency id."""

from __future__ import annotations

from tests.conftest import csrf_from

PAST = str(2**31)
REFUSED = (400, 422)  # a path parameter out of range, a form value out of range


def test_ids_past_32_bits_are_refused_not_overflowed(visitors) -> None:
    admin = visitors("admin")
    client = admin.client()
    token = csrf_from(client, "/")
    for url in (f"/admin/agencies/{PAST}", f"/admin/jobs/{PAST}/retry"):
        answer = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        assert answer.status_code in REFUSED, url
    assert client.get(f"/admin/agencies/{PAST}").status_code in REFUSED
    assert client.get(f"/author/courses/berakhlak/history/{PAST}").status_code in REFUSED
    rollback = client.post(
        "/author/courses/berakhlak/rollback",
        data={"csrf_token": token, "version_id": PAST},
        follow_redirects=False,
    )
    assert rollback.status_code == 422
    draft = client.post(
        "/author/courses/nope/publish",
        data={"csrf_token": token, "revision": "9" * 30},
        follow_redirects=False,
    )
    assert draft.status_code == 404
