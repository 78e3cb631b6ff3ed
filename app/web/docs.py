"""/api/docs: Swagger UI on /openapi.json, from the app's own /static (vendored, like bpmn-js), so it
works without internet access and under the pages' Content-Security-Policy (no CDN, no inline
script: `init.js` starts it)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
ASSETS = "/static/vendor/swagger-ui"
PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smeflow API 文档</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/init.js"></script>
</body>
</html>
"""


@router.get("/api/docs")
def api_docs() -> HTMLResponse:
    """The interactive API documentation."""
    return HTMLResponse(PAGE)
