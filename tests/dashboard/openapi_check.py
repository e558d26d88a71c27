"""Every /api response a test receives, checked against the OpenAPI document the app serves.

openapi-core finds the operation by path template, method and status, and validates the JSON
body against that response's schema; any mismatch (an undocumented status or path, a missing or
extra field, a wrong type or enum value) fails the test that made the request.
"""

from __future__ import annotations

import json
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder, TestResponse

API_PREFIX = "/api/v1/"
DOCUMENT_URL = "/api/v1/openapi.json"

# Parsing a document takes most of a second and every test builds a new app: parse each
# distinct document once.
_specs: dict[str, OpenAPI] = {}
_spec_of_app: WeakKeyDictionary[Flask, OpenAPI] = WeakKeyDictionary()


def api_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document exactly as the app serves it."""
    served = FlaskClient(app).get(DOCUMENT_URL)
    assert served.status_code == 200, served.status
    document: dict[str, Any] = served.json  # type: ignore[assignment]
    return document


def api_spec(app: Flask) -> OpenAPI:
    """The served document, parsed."""
    if app not in _spec_of_app:
        document = api_document(app)
        text = json.dumps(document, sort_keys=True)
        if text not in _specs:
            _specs[text] = OpenAPI.from_dict(document)
        _spec_of_app[app] = _specs[text]
    return _spec_of_app[app]


def _operation_key(request: Request) -> Request:
    """The request's method and URL without its body, already read by the app."""
    return Request(
        EnvironBuilder(
            method=request.method,
            base_url=request.host_url,
            path=request.path,
            query_string=request.query_string.decode(),
        ).get_environ()
    )


def check_response(spec: OpenAPI, request: Request, response: Response) -> None:
    """Fail with the reason when `response` does not match the document's operation."""
    key = WerkzeugOpenAPIRequest(_operation_key(request))
    try:
        spec.validate_response(key, WerkzeugOpenAPIResponse(response))
    except OpenAPIError as exc:
        raise AssertionError(
            f"{request.method} {request.path} answered {response.status} "
            f"not as the OpenAPI document says: {exc}\nbody: {response.get_data(as_text=True)}"
        ) from exc


class OpenApiCheckedClient(FlaskClient):
    """A test client that checks every API response against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        path = response.request.path
        if path.startswith(API_PREFIX) and path != DOCUMENT_URL:
            check_response(api_spec(self.application), response.request, response)
        return response
