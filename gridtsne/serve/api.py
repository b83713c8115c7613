"""The HTTP endpoints, with the original API's response shape:
``{"status": {"code": HTTP code, "description": ...}, "output": {...}}``.

Handlers are async only to read the request; FiftyOne's database calls run in
Starlette's thread pool (they block), so a slow poll never holds up others.
"""

import json
import os
import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from gridtsne.config import GridError
from gridtsne.serve import keys, openapi
from gridtsne.serve import visualizations as vis

MAX_BODY = 1 << 20  # a request is a dataset name and options: 1 MiB is plenty
LEVEL = re.compile(r"^[0-9]{1,2}$")
TILE = re.compile(r"^[0-9]{1,6}_[0-9]{1,6}\.jpg$")
PER_PAGE_MAX = 100


class HTTPProblem(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def reply(output=None, code=200, description="Ok"):
    body = {"status": {"code": code, "description": description}}
    if output is not None:
        body["output"] = output
    return JSONResponse(body, status_code=code)


def endpoint(handler):
    """Authenticates the caller, then maps what can go wrong to one 4xx
    message (never a traceback)."""
    async def run(request):
        try:
            key = await run_in_threadpool(keys.authenticate,
                                          request.headers.get("authorization"))
            if key is None:
                raise HTTPProblem(401, "send a valid key: Authorization: Key <key> "
                                  "(gridtsne keys create NAME makes one)")
            return await handler(request, key)
        except HTTPProblem as e:
            return reply(code=e.code, description=str(e))
        except GridError as e:
            return reply(code=400, description=e.for_surface("sdk"))
        except vis.NotFound as e:
            return reply(code=404, description=str(e.args[0]))
        except vis.Forbidden as e:
            return reply(code=403, description=str(e))
        except vis.Conflict as e:
            return reply(code=409, description=str(e))

    return run


async def _json_body(request):
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise HTTPProblem(413, "the body is over %d bytes" % MAX_BODY)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise HTTPProblem(413, "the body is over %d bytes" % MAX_BODY)
    try:
        body = json.loads(bytes(data) or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPProblem(400, "the body is not JSON: %s" % e) from None
    if not isinstance(body, dict):
        raise HTTPProblem(400, 'the body must be a JSON object: {"dataset": NAME, ...}')
    return body


def _base(request):
    return str(request.base_url).rstrip("/")


def described(request, record, now):
    """A visualization as the API shows it."""
    out = {"id": record["_id"], "status": now["status"], "dataset": record["dataset"],
           "view": record.get("view"), "key": record["key"],
           "created_at": record["created_at"].isoformat() + "Z",
           "progress": now["progress"], "stage": now["stage"]}
    if now["status"] == vis.FAILED:
        out["error"] = now["error"]
    files = now["files"]
    if now["status"] == vis.READY and files:
        url = "%s/v2/visualizations/%s" % (_base(request), record["_id"])
        out["data"] = {"image": {"url": url + "/image"}, "layout": {"url": url + "/layout.csv"},
                       "grid": {"rows": files["rows"], "cols": files["cols"],
                                "samples": files["samples"]}}
        if files.get("tiles"):
            out["data"]["tiles"] = {"url": url + "/tiles.dzi"}
    return out


@endpoint
async def post_visualization(request, key):
    body = await _json_body(request)
    record = await run_in_threadpool(vis.create, key, body)
    now = {"status": vis.PENDING, "progress": 0.0, "stage": None, "files": None}
    return reply(described(request, record, now), code=202)


@endpoint
async def get_visualization(request, key):
    def look():
        record = vis.find(key, request.path_params["id"])
        return record, vis.state(record)

    record, now = await run_in_threadpool(look)
    return reply(described(request, record, now))


def _int_param(request, name, default, top):
    text = request.query_params.get(name, str(default))
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise HTTPProblem(400, "<%s> must be a whole number from 1 to %d, got %r"
                          % (name, top, text))
    return int(text)


@endpoint
async def list_visualizations(request, key):
    page = _int_param(request, "page", 1, 10 ** 6)
    per_page = _int_param(request, "per_page", 20, PER_PAGE_MAX)

    def look():
        records, total = vis.page_of(key, page, per_page)
        return [(r, vis.state(r)) for r in records], total

    found, total = await run_in_threadpool(look)
    return reply({"visualizations": [described(request, r, s) for r, s in found],
                  "page": page, "per_page": per_page, "total": total})


@endpoint
async def delete_visualization(request, key):
    op_id = request.path_params["id"]
    await run_in_threadpool(vis.delete, key, op_id)
    return reply({"id": op_id, "status": "deleted"})


def _file(key, op_id, which, *parts):
    """The path of one of a ready run's files, only ever inside its folder."""
    record = vis.find(key, op_id)
    now = vis.state(record)
    if now["status"] != vis.READY:
        raise vis.NotFound("visualization %s is %s, not ready" % (op_id, now["status"]))

    def path(files):
        base = files.get(which)
        if base and parts:  # a tile: <name>_files/<level>/<col>_<row>.jpg beside the .dzi
            base = os.path.join(base[:-len(".dzi")] + "_files", *parts)
        return base

    files = now["files"]
    if not vis.inside(path(files), files["run_dir"]):
        files = vis.refreshed_files(record)  # moved by a regrid or rename since
    found = path(files)
    if not vis.inside(found, files["run_dir"]):
        raise vis.NotFound("visualization %s has no such file" % op_id)
    return found


def _served(which, *names):
    @endpoint
    async def serve(request, key):
        parts = [request.path_params[n] for n in names]
        if names and not (LEVEL.match(parts[0]) and TILE.match(parts[1])):
            raise vis.NotFound("no such tile: %s" % "/".join(parts))
        found = await run_in_threadpool(_file, key, request.path_params["id"], which, *parts)
        return FileResponse(found, headers={"Cache-Control": "private, max-age=3600"})

    return serve


@endpoint
async def get_openapi(request, key):
    return JSONResponse(openapi.spec(_base(request)))


def make_app():
    routes = [
        Route("/v2/visualizations", post_visualization, methods=["POST"]),
        Route("/v2/visualizations", list_visualizations, methods=["GET"]),
        Route("/v2/visualizations/{id}", get_visualization, methods=["GET"]),
        Route("/v2/visualizations/{id}", delete_visualization, methods=["DELETE"]),
        Route("/v2/visualizations/{id}/image", _served("image"), methods=["GET"]),
        Route("/v2/visualizations/{id}/layout.csv", _served("layout"), methods=["GET"]),
        Route("/v2/visualizations/{id}/tiles.dzi", _served("tiles"), methods=["GET"]),
        Route("/v2/visualizations/{id}/tiles_files/{level}/{tile}",
              _served("tiles", "level", "tile"), methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
    ]

    async def http_problem(request, exc):  # no route, or a method it lacks
        return reply(code=exc.status_code, description=str(exc.detail))

    return Starlette(routes=routes, exception_handlers={HTTPException: http_problem})
