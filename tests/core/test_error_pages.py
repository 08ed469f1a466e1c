"""People get pages, API clients get JSON: a page's request with a value its route cannot take gets a GOV.UK
error page that says what was wrong and links back to the form (the browser keeps what was typed)."""

from __future__ import annotations

import re

import pytest

from tests.support import api_token, browser_sign_in


def test_a_page_request_the_route_cannot_take_gets_a_page_not_json(client, world) -> None:  # type: ignore[no-untyped-def]
    browser_sign_in(client, "coordinator.a")
    r = client.get("/incidents", params={"page": "abc"}, headers={"referer": "https://testserver/incidents?page=2"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "<title>Error: There is a problem" in r.text and "govuk-error-summary" in r.text
    assert "<strong>page</strong>: Enter a whole number" in r.text
    assert '<a class="govuk-link" href="/incidents?page=2">Go back and try again</a>' in r.text
    # A link back only to this service, never to where another site sent the person from.
    other = client.get("/incidents", params={"page": "-3"}, headers={"referer": "https://elsewhere.example/x"})
    assert other.status_code == 422 and "elsewhere.example" not in other.text and "Go to the start page" in other.text
    for sneaky in ("https://testserver//elsewhere.example/x", "https://testserver/\\elsewhere.example/x"):
        r = client.get("/incidents", params={"page": "-3"}, headers={"referer": sneaky})
        assert "elsewhere.example" not in r.text and "Go to the start page" in r.text, sneaky
    assert "Nothing was saved" not in r.text, "a search or a list saves nothing anyway"


def test_an_address_with_a_word_for_a_number_is_page_not_found(client, world) -> None:  # type: ignore[no-untyped-def]
    """/footage/abc leads nowhere, as /footage/99999 does (it was a 422 naming footage_id); the API keeps 422."""
    browser_sign_in(client, "coordinator.a")
    for path in ("/footage/abc", "/incidents/abc", "/footage/1.5"):
        r = client.get(path)
        assert r.status_code == 404 and "Page not found" in r.text and "footage_id" not in r.text, path
    headers = api_token(client, "coordinator.a")
    assert client.get("/api/v1/footage/abc", headers=headers).status_code == 422


def test_a_form_box_the_page_reads_itself_is_explained_beside_the_box(client, world) -> None:  # type: ignore[no-untyped-def]
    """The feedback page's "days" box: a value that is not a number of days is shown back with its message, and
    the list for the usual number of days below (it was a page of its own naming the query parameter)."""
    browser_sign_in(client, "coordinator.a")
    for typed in ("-5", "abc", "999"):
        r = client.get("/feedback", params={"days": typed})
        assert r.status_code == 200 and '<a href="#days">Enter the number of days as a whole number' in r.text
        assert f'value="{typed}"' in r.text and "Not acknowledged after 7 days" in r.text


def test_the_api_still_answers_json(client, world) -> None:  # type: ignore[no-untyped-def]
    headers = api_token(client, "coordinator.a")
    r = client.get("/api/v1/reports/officers/A001", params={"months": "abc"}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "months"


@pytest.mark.allow_error_logs
def test_a_fault_of_ours_gets_the_sorry_page_with_a_reference(app, world) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/v1/boom", boom)
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    page = client.get("/boom")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Sorry, there is a problem with the service" in page.text and "a bug" not in page.text
    assert re.search(r"give this reference: <strong[^>]*>[0-9a-f]{8}</strong>", page.text)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and set(api.json()) == {"detail", "reference"} and "a bug" not in api.text
