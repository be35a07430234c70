"""The interface language: English and German, chosen per request.

The choice, first match wins: the logged-in volunteer's own setting, then
``?lang=`` in the address (remembered in a ``lang`` cookie), then that cookie,
then the browser's ``Accept-Language``, then English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from sqlalchemy.exc import SQLAlchemyError

from tickets.models import Volunteer
from wikibridge import db

#: Languages the interface is complete in; the first is the fallback.
LANGUAGES = ["en", "de"]
#: Where the catalogs live: ``<lang>/LC_MESSAGES/messages.po`` and ``.mo``.
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _supported() -> list[str]:
    languages: list[str] = current_app.config["LANGUAGES"]
    return languages


def _volunteer_choice() -> str | None:
    """The language the logged-in volunteer chose, if any."""
    login = g.get("login")
    if login is None or login.volunteer_id is None:
        return None
    try:
        volunteer = db.session().get(Volunteer, login.volunteer_id)
    except SQLAlchemyError:
        # The error page of a failed request must still render, in some language.
        return None
    if volunteer is None or volunteer.language not in _supported():
        return None
    return volunteer.language


def _asked_for() -> str | None:
    """``?lang=`` in the address, if it names a supported language."""
    lang = request.args.get(COOKIE, "")
    return lang if lang in _supported() else None


def select_locale() -> str:
    """The language of this request (Flask-Babel's locale selector)."""
    if not has_request_context():
        return str(_supported()[0])
    for choice in (_volunteer_choice(), _asked_for(), request.cookies.get(COOKIE)):
        if choice and choice in _supported():
            return choice
    best = request.accept_languages.best_match(_supported())
    return best or _supported()[0]


def current_language() -> str:
    """The language code of this request, for ``<html lang="...">``."""
    locale = get_locale()
    return locale.language if locale is not None else _supported()[0]


def _remember(response: Any) -> Any:
    """Keep a ``?lang=`` choice in a cookie; say that pages vary by language."""
    lang = _asked_for()
    if lang is not None and request.cookies.get(COOKIE) != lang:
        response.set_cookie(
            COOKIE,
            lang,
            max_age=COOKIE_MAX_AGE,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    response.vary.add("Accept-Language")
    if COOKIE in request.cookies:
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the catalogs and the locale selector."""
    app.config.setdefault("LANGUAGES", list(LANGUAGES))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.after_request(_remember)
    app.jinja_env.globals["current_language"] = current_language
