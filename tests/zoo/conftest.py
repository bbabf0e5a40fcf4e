"""Fixtures of the model zoo tests: a local HTTP server, a small real
checkpoint of the lite CPABMM config, and temporary zoo indexes."""
import hashlib
import os
import os.path as osp
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Optional, Tuple

import pytest
import torch
import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LITE_CONFIG = osp.join(REPO, 'configs', 'cpabmm', 'cpabmm_k10-lite_1xb8-20e_synthetic-64.py')


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_listing(folder) -> list:
    """Every entry of ``folder`` (hidden temporary files included); [] when
    the folder does not exist."""
    return sorted(os.listdir(folder)) if osp.isdir(folder) else []


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (body, promised length)``; a promise
    longer than the body is a truncated transfer (the connection closes)."""

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, 'Not Found')
            return
        body, promised = route
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(promised))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 in a thread."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.routes: Dict[str, Tuple[bytes, int]] = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def serve(self, path: str, body: bytes, promised: Optional[int] = None) -> str:
        """Serve ``body`` at ``path`` (announcing ``promised`` bytes); its URL."""
        self.httpd.routes[path] = (body, len(body) if promised is None else promised)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f'http://{host}:{port}{path}'

    def stop(self):
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.running = False


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own cache folder and no index override."""
    home = tmp_path / 'cpabmm-home'
    monkeypatch.setenv('CPABMM_HOME', str(home))
    monkeypatch.delenv('CPABMM_MODEL_INDEX', raising=False)
    return home / 'checkpoints'


@pytest.fixture(scope='session')
def lite_checkpoint(tmp_path_factory) -> str:
    """An MMEngine checkpoint of the lite CPABMM config (initial weights)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from cpabmm.registry import MODELS
    init_default_scope('cpabmm')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(LITE_CONFIG).model)
    path = str(tmp_path_factory.mktemp('checkpoints') / 'lite.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'note': 'test weights'}}, path)
    return path


def write_index(folder, models: list, name: str = 'model-index.yml') -> str:
    """A model-index.yml importing one metafile with ``models``."""
    folder = str(folder)
    os.makedirs(osp.join(folder, 'meta'), exist_ok=True)
    with open(osp.join(folder, 'meta', 'metafile.yml'), 'w') as f:
        yaml.safe_dump({'Collections': [{'Name': 'Test'}], 'Models': models}, f)
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        yaml.safe_dump({'Import': ['meta/metafile.yml']}, f)
    return path
