"""Helpers the browser tests share for moving around the pages: logging in and out, the main menu, the flashed
notice, figures as the English pages show them, and a table's column by its heading."""
from __future__ import annotations

from playwright.sync_api import expect


def log_in(page, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def menu(page):
    return page.get_by_role("navigation", name="Main navigation")


def flash(page):
    return page.locator(".flash-success")


def english(number: int) -> str:
    """A whole number as the live server shows it in English: 15,000."""
    return f"{number:,}"


def number_in(text: str) -> int:
    """The whole number a cell starts with: "2,560 piece" -> 2560."""
    return int(text.strip().split()[0].replace(",", ""))


def column_index(table, heading: str) -> int:
    """The position of the first column of ``table`` whose heading starts with ``heading``."""
    headers = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    return next(i for i, text in enumerate(headers) if text.startswith(heading))
