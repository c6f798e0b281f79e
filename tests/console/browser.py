"""Debian's Chromium, driven by Playwright, signed in to a served hub as a person."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.served import Person

# Screenshots are kept as the run's artefacts (git-ignored), one per step that shows
# something a person would look at.
ARTIFACTS = Path(os.environ.get("HUB_TEST_ARTIFACTS", "var/test-artifacts")) / "console"
# Without these, Chromium spends its start-up on connections this closed network refuses.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # every host but the hub's loopback address resolves to nothing: the console must
    # need no other host
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs Debian's chromium package"
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=QUIET)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def console_page(browser: Browser, base: str, person: Person) -> Iterator[Page]:
    """A fresh tab signed in to ``base``'s console as ``person``; fails on any script
    error the page raises and on anything the Content-Security-Policy refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    # A loaded CI machine renders slowly; a broken page still fails, a minute later.
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A script, style or image the hub's Content-Security-Policy refused is a broken page.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, base, person)
    try:
        yield page
        assert errors == [], errors
    finally:
        context.close()


def sign_in(page: Page, base: str, person: Person, view: str = "#/lineage") -> None:
    page.goto(f"{base}console{view}")
    page.wait_for_url(re.compile(r".*/oauth/authorize\?.*"))
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name=re.compile("sign in", re.IGNORECASE)).click()
    page.wait_for_url(re.compile(r".*/console#/.*"))
    expect(page.locator("#who")).to_contain_text(person.org)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
