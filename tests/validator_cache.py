"""Seed roc-validator's HTTP cache with JSON-LD contexts that ship in PyPI packages.

Run by the validator's own environment (``.venv-validator/bin/python``, which has
``requests_cache``): ``python validator_cache.py CACHE URL=FILE ...``. Each URL is
answered from FILE through requests' adapter interface and stored the way the
validator's cached session stores a download, so ``rocrate-validator validate
--offline --cache-path CACHE`` finds it and nothing is fetched from the network.
"""

from __future__ import annotations

import io
import sys

import requests
from requests.adapters import BaseAdapter
from requests_cache import CachedSession
from urllib3.response import HTTPResponse


class LocalFiles(BaseAdapter):
    """Answers GET requests for known URLs from local files; anything else is a 404."""

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__()
        self.files = files

    def send(self, request, **kwargs):
        path = self.files.get(request.url)
        body = open(path, "rb").read() if path else b""
        status = 200 if path else 404
        raw = HTTPResponse(body=io.BytesIO(body), status=status, preload_content=False,
                           headers={"Content-Type": "application/ld+json"},
                           request_url=request.url)
        response = requests.Response()
        response.status_code, response.url, response.raw = status, request.url, raw
        response.request, response.reason = request, "OK" if path else "Not Found"
        response.headers.update(raw.headers)
        return response

    def close(self) -> None:
        pass


def main(argv: list[str]) -> int:
    cache, pairs = argv[0], dict(a.split("=", 1) for a in argv[1:])
    session = CachedSession(cache_name=cache, backend="sqlite", expire_after=-1)
    session.mount("https://", LocalFiles(pairs))
    for url in pairs:
        session.get(url).raise_for_status()
        if not session.cache.contains(url=url):
            print(f"{url}: not stored in the cache", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
