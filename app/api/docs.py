"""The interactive API documentation page (Swagger UI), served entirely by the app itself.

Swagger UI's files come from the flask-swagger-ui package (pinned in requirements.txt; only its
`dist` folder, swagger-ui's own release files, is used), so the page works on a closed network
and under the platform's Content-Security-Policy: nothing from another host, no inline script
(the page's start-up code is a static file, vbp-docs.js).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory, url_for

#: swagger-ui's release files (swagger-ui-bundle.js, swagger-ui.css, ...).
SWAGGER_UI_DIST = Path(str(files("flask_swagger_ui") / "dist"))
#: The page's own start-up script.
OWN_ASSETS = Path(__file__).resolve().parent / "static"
OWN_FILES = frozenset({"vbp-docs.js"})

docs = Blueprint("api_docs", __name__, template_folder="templates")


@docs.route("/api/v1/docs", methods=["GET"])
def page() -> str:
    """The interactive documentation of /api/v1 (public, like the OpenAPI document)."""
    return render_template(
        "api/docs.html",
        spec_url=url_for("api-docs.openapi_json"),
        me_url=url_for("auth.me"),
    )


@docs.route("/api/v1/docs/assets/<path:filename>", methods=["GET"])
def asset(filename: str) -> Response:
    """Swagger UI's files and the page's script (send_from_directory refuses paths outside)."""
    folder = OWN_ASSETS if filename in OWN_FILES else SWAGGER_UI_DIST
    return send_from_directory(folder, filename, max_age=24 * 3600)
