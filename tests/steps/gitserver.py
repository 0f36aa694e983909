"""Real git repositories for the git_clone tests, and a loopback HTTP server in front of `git http-backend`.

The server is a ThreadingHTTPServer that runs git's own CGI program for each request, optionally behind HTTP
Basic auth, and records the Authorization header of every request (so tests can see the token was sent).
"""

from __future__ import annotations

import base64
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    """Run git for test set-up (file:// allowed for submodules here, as only the test's own repos are involved)."""
    out = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def commit_files(work: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def make_bare(root: Path, name: str, work: Path) -> Path:
    """Push `work` (all branches and tags) to a new bare repository `root/name`, set up for partial clones."""
    bare = root / name
    git("init", "-q", "--bare", str(bare), cwd=root)
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    git("config", "http.receivepack", "true", cwd=bare)
    git("push", "-q", "--all", str(bare), cwd=work)
    git("push", "-q", "--tags", str(bare), cwd=work)
    return bare


@dataclass
class Upstream:
    """A bare repository `project.git` with two commits on main, a branch `feature/x` and a tag `v1`."""

    bare: Path
    work: Path
    first: str
    second: str
    feature: str

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push_commit(self, files: dict[str, str], message: str) -> str:
        git("checkout", "-q", "main", cwd=self.work)
        sha = commit_files(self.work, files, message)
        git("push", "-q", str(self.bare), "main", cwd=self.work)
        return sha


def make_upstream(root: Path, name: str = "project.git") -> Upstream:
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git("init", "-q", cwd=work)
    first = commit_files(work, {"flow.py": "VERSION = 1\n", "requirements.txt": ""}, "first")
    git("tag", "v1", cwd=work)
    second = commit_files(
        work, {"flow.py": "VERSION = 2\n", "flows/a/a.py": "A = 1\n", "flows/b/b.py": "B = 1\n"}, "second"
    )
    git("checkout", "-q", "-b", "feature/x", cwd=work)
    feature = commit_files(work, {"feature.txt": "feature\n"}, "feature")
    git("checkout", "-q", "main", cwd=work)
    return Upstream(make_bare(root, name, work), work, first, second, feature)


@dataclass
class GitHTTPServer:
    """Serves every bare repository under `root` at http://127.0.0.1:PORT/<name>; with `token`, only to requests
    whose Basic auth password (or user name) is the token."""

    root: Path
    token: str | None = None
    authorizations: list[str | None] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.handle(self)

            def do_POST(self) -> None:
                server.handle(self)

            def log_message(self, format: str, *args: object) -> None:  # keep pytest output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def authorized(self, header: str | None) -> bool:
        if self.token is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return self.token in (user, password)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        if not self.authorized(header):
            request.send_response(401)
            request.send_header("WWW-Authenticate", 'Basic realm="git"')
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        path, _, query = request.path.partition("?")
        body = self._body(request)
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": request.command,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": "tester",
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "PATH": "/usr/bin:/bin",
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False).stdout
        head, _, payload = out.partition(b"\r\n\r\n") if b"\r\n\r\n" in out else out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        request.send_response(status)
        for key, value in headers:
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    @staticmethod
    def _body(request: BaseHTTPRequestHandler) -> bytes:
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(request.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    request.rfile.readline()
                    return b"".join(chunks)
                chunks.append(request.rfile.read(size))
                request.rfile.readline()
        length = int(request.headers.get("Content-Length") or 0)
        return request.rfile.read(length) if length else b""
