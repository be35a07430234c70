"""The OpenAPI 3.1 description of the public references API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

_FACTS = {
    "status": {
        "type": "string",
        "enum": ["confirmed", "pending", "not-permission", "unknown"],
        "description": "confirmed: a permission ticket whose permission was confirmed; "
        "pending: a permission ticket not confirmed (yet); not-permission: a real ticket "
        "outside the permission queues; unknown: no ticket known under this number, a "
        "malformed number, or one no wiki cites (all answered alike).",
    },
    "known": {"type": "boolean"},
    "permission": {"type": "boolean"},
    "confirmed": {"type": "boolean"},
}
_TIME = {"type": "string", "format": "date-time"}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "retry_after": {"type": "integer"}},
}


def _answers(schema: str) -> dict[str, Any]:
    return {
        "200": {
            "description": "The public facts.",
            "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        },
        "304": {"description": "Not modified since the ETag given in If-None-Match."},
        "429": {
            "description": "Too many requests from this client; wait Retry-After seconds.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    }


def description(wikis: list[str]) -> dict[str, Any]:
    """The API's description, with the configured wikis as the allowed ``wiki`` values."""
    page_responses = _answers("Page")
    page_responses["400"] = {
        "description": "No such wiki, no title, or a title longer than 512 characters.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    ticket_responses = _answers("Ticket")
    ticket_responses["400"] = {
        "description": "A ticket number longer than 512 characters.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wikibridge ticket references",
            "version": "1",
            "description": "Which wiki pages cite which ticket of the volunteer response "
            "team, and whether a cited ticket confirms a permission. Public facts only.",
        },
        "paths": {
            "/api/v1/tickets/{number}": {
                "get": {
                    "operationId": "ticket",
                    "summary": "A ticket number's public facts and the pages citing it",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 512},
                        }
                    ],
                    "responses": ticket_responses,
                }
            },
            "/api/v1/pages": {
                "get": {
                    "operationId": "page",
                    "summary": "The tickets a wiki page cites",
                    "parameters": [
                        {
                            "name": "wiki",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": wikis},
                        },
                        {
                            "name": "title",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 512},
                        },
                    ],
                    "responses": page_responses,
                }
            },
        },
        "components": {
            "schemas": {
                "Ticket": {
                    "type": "object",
                    "required": ["ticket", "status", "known", "permission", "confirmed", "pages"],
                    "properties": {
                        "ticket": {"type": "string"},
                        **_FACTS,
                        "pages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["wiki", "title", "kind", "revision", "since"],
                                "properties": {
                                    "wiki": {"type": "string"},
                                    "title": {"type": "string"},
                                    "url": {"type": ["string", "null"]},
                                    "kind": {"$ref": "#/components/schemas/Kind"},
                                    "revision": {"type": "integer"},
                                    "since": _TIME,
                                },
                            },
                        },
                    },
                },
                "Page": {
                    "type": "object",
                    "required": ["wiki", "title", "tickets"],
                    "properties": {
                        "wiki": {"type": "string"},
                        "title": {"type": "string"},
                        "tickets": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["ticket", "as_written", "kind", "status", "since"],
                                "properties": {
                                    "ticket": {"type": "string"},
                                    "as_written": {"type": "string"},
                                    "kind": {"$ref": "#/components/schemas/Kind"},
                                    **_FACTS,
                                    "since": _TIME,
                                },
                            },
                        },
                    },
                },
                "Kind": {"type": "string", "enum": ["template", "pending", "url", "interwiki"]},
                "Error": _ERROR,
            }
        },
    }
