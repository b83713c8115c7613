"""``GET /openapi.json``: the API described, its options read from
``GridConfig`` so that the description cannot drift from what is checked."""

from gridtsne import __version__
from gridtsne import config as gconfig

SERVER_CHOSEN = ("key", "output_dir")  # given beside "options", or the server's
JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def option_schemas():
    out = {}
    for name, _, meta in gconfig.options():
        if name in SERVER_CHOSEN:
            continue
        schema = {"type": JSON_TYPES[gconfig.kind_of(name)], "description": meta["help"]}
        shown = gconfig.shown_default(name)
        if shown is not None:
            schema["default"] = shown
        for ours, theirs in (("min", "minimum"), ("max", "maximum"),
                             ("above", "exclusiveMinimum")):
            if ours in meta:
                schema[theirs] = meta[ours]
        if meta.get("choices"):
            schema["enum"] = list(meta["choices"])
        out[name] = schema
    return out


def _status():
    return {"type": "object", "properties": {
        "code": {"type": "integer", "description": "the HTTP status"},
        "description": {"type": "string", "description": "Ok, or what was wrong"}}}


def _answer(output=None):
    props = {"status": {"$ref": "#/components/schemas/Status"}}
    if output:
        props["output"] = {"$ref": "#/components/schemas/" + output}
    return {"content": {"application/json": {"schema": {"type": "object",
                                                       "properties": props}}}}


def _errors(*codes):
    reasons = {400: "bad JSON, a bad option (named) or a bad query parameter",
               401: "no key, or a wrong one", 403: "the key may not use that dataset",
               404: "no such dataset, saved view, visualization or file",
               409: "the visualization is running", 413: "the body is over 1 MiB"}
    return {str(c): dict(_answer(), description=reasons[c]) for c in codes}


def spec(base_url):
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "the id POST returned (the run's delegated operation)"}
    files = {
        "/v2/visualizations/{id}/image": ("the mosaic (JPEG, or PNG when mosaic_format is png)",
                                         "image/jpeg"),
        "/v2/visualizations/{id}/layout.csv": ("one row per placed image: path, label, row, "
                                              "col, t-SNE x/y, curation scores", "text/csv"),
        "/v2/visualizations/{id}/tiles.dzi": ("the Deep Zoom descriptor of a large grid's "
                                             "tiles (tiles_files/LEVEL/COL_ROW.jpg beside it)",
                                             "application/xml"),
        "/v2/visualizations/{id}/tiles_files/{level}/{tile}": ("one Deep Zoom tile",
                                                               "image/jpeg"),
    }
    paths = {
        "/v2/visualizations": {
            "post": {
                "summary": "Request a similarity-sorted mosaic of a dataset or saved view",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Request"}}}},
                "responses": dict({"202": dict(_answer("Visualization"),
                                               description="queued: output.status is pending")},
                                  **_errors(400, 401, 403, 404, 413)),
            },
            "get": {
                "summary": "The caller's visualizations, newest first",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                              "default": 1}},
                    {"name": "per_page", "in": "query", "schema": {
                        "type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                "responses": dict({"200": dict(_answer("Page"), description="a page")},
                                  **_errors(400, 401)),
            },
        },
        "/v2/visualizations/{id}": {
            "get": {"summary": "A visualization's status; when ready, its URLs",
                    "parameters": [id_param],
                    "responses": dict({"200": dict(_answer("Visualization"), description="")},
                                      **_errors(401, 403, 404))},
            "delete": {"summary": "Delete it (a finished run as delete_grid does; a pending "
                                  "one leaves the queue)",
                       "parameters": [id_param],
                       "responses": dict({"200": dict(_answer(), description="deleted")},
                                         **_errors(401, 403, 404, 409))},
        },
    }
    for path, (summary, media) in files.items():
        params = [id_param] + ([{"name": n, "in": "path", "required": True,
                                 "schema": {"type": "string"}} for n in ("level", "tile")]
                               if "{level}" in path else [])
        paths[path] = {"get": {"summary": summary, "parameters": params, "responses": dict(
            {"200": {"description": summary, "content": {media: {}}}}, **_errors(401, 403, 404))}}
    visualization = {"type": "object", "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "running", "ready", "failed"]},
        "progress": {"type": "number", "nullable": True, "description": "0-1"},
        "stage": {"type": "string", "nullable": True, "description": "what it is doing"},
        "error": {"type": "string", "description": "why it failed"},
        "dataset": {"type": "string"}, "view": {"type": "string", "nullable": True},
        "key": {"type": "string", "description": "the run key on the dataset"},
        "created_at": {"type": "string", "format": "date-time"},
        "data": {"type": "object", "description": "when ready: image.url, layout.url, "
                 "tiles.url (large grids only) and grid (rows, cols, samples)"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "gridtsne visualization API", "version": __version__},
        "servers": [{"url": base_url}],
        "security": [{"Key": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"Key": {"type": "apiKey", "in": "header",
                                        "name": "Authorization",
                                        "description": "Key <key> (gridtsne keys create)"}},
            "schemas": {
                "Status": _status(),
                "Request": {"type": "object", "required": ["dataset"], "properties": {
                    "dataset": {"type": "string", "description": "a FiftyOne dataset's name"},
                    "view": {"type": "string", "description": "one of its saved views"},
                    "key": {"type": "string", "description": "the run key (default: "
                            "api_ and 8 hex digits, one per request)"},
                    "options": {"type": "object", "properties": option_schemas(),
                                "additionalProperties": False}}},
                "Visualization": visualization,
                "Page": {"type": "object", "properties": {
                    "visualizations": {"type": "array", "items": {
                        "$ref": "#/components/schemas/Visualization"}},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "total": {"type": "integer"}}},
            },
        },
    }
