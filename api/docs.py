"""The OpenAPI page at /docs, with Swagger UI served from the installed package.

FastAPI's own page loads Swagger UI from a CDN; a desk behind a closed network
would get a blank page, so the service serves the files itself.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

#: Where the Swagger UI files are mounted.
ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """Serve /docs from local Swagger UI files; the app must have docs_url=None."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
