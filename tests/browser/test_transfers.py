"""Data in and out pages in a real browser under the Content-Security-Policy (issue 16).

Nothing here changes the shared browser school: the upload is a refused XML bomb."""

import pytest

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_ctf_census_and_dfe_pages_work_under_the_policy(page, live, tmp_path):
    login(page, live, live.office)
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">'
                     b'<!ENTITY b "&a;&a;&a;&a;">]><CTfile>&b;</CTfile>')
    page.goto("/")
    page.get_by_role("button", name="Data").click()  # the menu (static/js, no inline code)
    page.get_by_role("link", name="Import a CTF").click()
    page.get_by_label("File").set_input_files(str(bomb))
    page.get_by_role("button", name="Check and import").click()
    assert "Nothing was imported: 1 problem(s) found." in page.content()
    assert page.locator("#problems").get_by_text("DOCTYPE").count() >= 1
    for path in ("/transfers/ctf/export/", "/transfers/census/", "/transfers/dfe/"):
        response = page.goto(path)
        assert response.status == 200, path
    assert page.locator("[onclick], [style]").count() == 0
