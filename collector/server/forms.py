"""Form bodies of the interface's write forms: URL-encoded forms, and multipart forms with a file.

Starlette parses forms only with ``python-multipart``, whose ``multipart`` compatibility package would
overwrite the ``multipart`` library already installed for ``cdxj-indexer``; so URL-encoded bodies are
parsed with ``urllib.parse`` and multipart bodies with that ``multipart`` library (defnull/multipart,
streaming, with part and size limits), read whole after a size check against ``upload_max_mb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from urllib.parse import parse_qsl

from multipart import MultipartError, MultipartParser, parse_options_header
from starlette.requests import Request

from collector.errors import InputError
from collector.server.context import ctx_of

__all__ = ["Upload", "UploadForm", "read_form", "read_upload"]

_MAX_FORM = 1024 * 1024  # a URL-encoded form (no file) is small


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name it had on the sender's machine and its bytes."""

    filename: str
    data: bytes


@dataclass
class UploadForm:
    """A multipart form: its text fields and its files (by field name; empty file inputs left out)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InputError(f"the form is too large ({int(declared) // 1024} KiB; at most {limit // 1024} KiB: "
                         "see the upload_max_mb setting)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(f"the form is too large (at most {limit // 1024} KiB: see upload_max_mb)")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(request: Request) -> UploadForm:
    """A form sent as ``multipart/form-data`` (or URL-encoded, then without files)."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != "multipart/form-data":
        return UploadForm(fields=await read_form(request))
    boundary = options.get("boundary")
    if not boundary:
        raise InputError("a multipart form without a boundary")
    limit = ctx_of(request).config.upload_max_mb * 1024 * 1024
    body = await _body(request, limit)
    form = UploadForm()
    try:
        parser = MultipartParser(BytesIO(body), boundary, len(body), memory_limit=limit + 1,
                                 spool_limit=limit + 1, part_limit=32)
        for part in parser:
            if part.filename is not None:
                if part.filename or part.size:
                    form.files[part.name] = Upload(part.filename, part.raw)
            else:
                form.fields[part.name] = part.value
    except MultipartError as exc:
        raise InputError(f"the form could not be read: {exc}") from exc
    return form


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form's fields (the last value of a repeated field); a multipart form's text fields."""
    kind, _ = parse_options_header(request.headers.get("content-type", ""))
    if kind == "multipart/form-data":
        return (await read_upload(request)).fields
    body = await _body(request, _MAX_FORM)
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise InputError("the form is not UTF-8") from exc
