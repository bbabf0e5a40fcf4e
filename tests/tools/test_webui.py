"""tools/webui.py: the options, the page's queue and privacy settings, and
the app end to end: started on 127.0.0.1 as a separate process and driven
by a headless Chromium (Selenium), which uploads the bundled example, runs
the bundled cpabmm-lite model and plays the result. The screenshot of that
run is kept as outputs/test-artifacts/webui.png.

The browser test needs Chromium and its driver (Debian: ``apt-get install
chromium chromium-driver ffmpeg``) and Selenium (a test requirement).
``.ci/run`` installs the system packages (as root) and sets
``CPABMM_REQUIRE_BROWSER=1``: there a missing browser fails the test;
elsewhere the test is skipped, saying what to install.
"""
import json
import os
import os.path as osp
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import av
import pytest

from cpabmm.webui import PRIVATE_ENVIRONMENT, ResultStore, WebApp, build_app, list_models
from tests.tools.loading import REPO, load_tool

SOURCE = osp.join(REPO, 'demo', 'source.png')
DRIVING = osp.join(REPO, 'demo', 'driving.mp4')  # 48 frames at 12 fps, 256x256
ARTIFACTS = osp.join(REPO, 'outputs', 'test-artifacts')
MISSING_BROWSER = ('the browser test needs Chromium and its driver: apt-get install -y '
                   'chromium chromium-driver ffmpeg (.ci/run installs them when run as root)')
START_TIMEOUT = 120  # seconds for the app to print its URL
JOB_TIMEOUT = 240  # seconds for the bundled example to be animated


@pytest.fixture(scope='module')
def webui():
    return load_tool('webui')


# --- the command line -------------------------------------------------------

def test_options_are_safe_by_default(webui, capsys):
    args = webui.parse_args([])
    assert args.host == '127.0.0.1' and args.port is None and args.keep_results == 3600
    assert (args.max_frames, args.max_side, args.max_upload_mb) == (1000, 4096, 200)
    with pytest.raises(SystemExit) as exit_:
        webui.parse_args(['--share'])
    assert exit_.value.code == 2 and 'unrecognized arguments: --share' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        webui.parse_args(['--help'])
    assert 'share' not in capsys.readouterr().out


def test_missing_gradio_is_one_line(webui, monkeypatch, capsys):
    for name in PRIVATE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)  # restored after the test
    monkeypatch.setitem(sys.modules, 'gradio', None)  # import gradio raises ImportError
    assert webui.main([]) == 2
    assert capsys.readouterr().err == ('error: the web app needs gradio: pip install -e '
                                       '.[webui]\n')


def test_importing_cpabmm_needs_no_gradio():
    code = ("import sys; sys.modules['gradio'] = None; import cpabmm, cpabmm.apis, "
            "cpabmm.webui; print(len(cpabmm.webui.list_models()))")
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '4'


@pytest.mark.parametrize('argv, message', [
    (['--config', 'a.py'], 'give --config and --checkpoint in pairs: 1 --config, 0 '
     '--checkpoint'),
    (['--checkpoint-dir', '/nonexistent/folder'], '--checkpoint-dir /nonexistent/folder: no '
     'such folder'),
    (['--max-frames', '0'], '--max-frames must be positive, got 0'),
    (['--config', 'configs/fomm/fomm_k10-lite_1xb8-20e_synthetic-64.py', '--checkpoint',
      'missing.pth'], 'no such checkpoint file missing.pth'),
], ids=['unpaired', 'checkpoint dir', 'limits', 'missing checkpoint'])
def test_bad_options_fail_before_serving(argv, message, webui, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    for name in PRIVATE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)  # restored after the test
    assert webui.main([*argv, '--temp-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    assert os.listdir(tmp_path) == []  # no temporary folder left


def test_a_taken_port_is_one_line(webui, tmp_path, monkeypatch, capsys):
    for name in (*PRIVATE_ENVIRONMENT, 'GRADIO_TEMP_DIR'):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert webui.main(['--port', str(port), '--temp-dir', str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f'error: could not serve on 127.0.0.1: port {port} is taken; choose another --port')
    assert os.listdir(tmp_path) == []


def test_one_job_at_a_time_and_nothing_phones_home(tmp_path, monkeypatch):
    for name in (*PRIVATE_ENVIRONMENT, 'GRADIO_TEMP_DIR'):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    with ResultStore(parent=str(tmp_path)) as store:
        app = WebApp(list_models(), store, 'cpu', example=(SOURCE, DRIVING))
        blocks = build_app(app)
        for name, value in PRIVATE_ENVIRONMENT.items():
            assert os.environ[name] == value
        assert os.environ['GRADIO_TEMP_DIR'] == store.root
        assert blocks.analytics_enabled is False
        (animate,) = [fn for fn in blocks.fns.values() if fn.api_name == 'animate']
        assert (animate.concurrency_limit, animate.concurrency_id) == (1, 'cpu')
        assert animate.queue is not False


# --- the app in a browser ---------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class ProxyRecorder:
    """A proxy on 127.0.0.1 that forwards nothing: it records the first line
    of every request (``CONNECT api.gradio.app:443 ...``) and refuses it.
    The app runs with it as its HTTP(S) proxy, so any call that would leave
    the machine through a Python HTTP client ends up here."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(('127.0.0.1', 0))
        self.server.listen()
        self.url = f'http://127.0.0.1:{self.server.getsockname()[1]}'
        self.requests = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).split(b'\r\n')[0].decode())
                    connection.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


class RunningApp:
    """``tools/webui.py`` in a process of its own, its HTTP(S) proxy a
    :class:`ProxyRecorder`; its output is collected by a thread."""

    def __init__(self, temp_parent: str, home: str) -> None:
        self.temp_parent = temp_parent
        self.proxy = ProxyRecorder()
        # TMPDIR too: whatever the app writes must be gone when it stops
        env = dict(os.environ, CPABMM_HOME=home, PYTHONUNBUFFERED='1', TMPDIR=temp_parent)
        env.pop('CPABMM_MODEL_INDEX', None)
        for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'):
            env[name] = env[name.lower()] = self.proxy.url
        env['NO_PROXY'] = env['no_proxy'] = '127.0.0.1,localhost'
        self.process = subprocess.Popen(
            [sys.executable, osp.join(REPO, 'tools', 'webui.py'), '--port', str(free_port()),
             '--device', 'cpu', '--temp-dir', temp_parent, '--keep-results', '600'],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: 'queue.Queue[str]' = queue.Queue()
        self.output = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for_url(self) -> str:
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if 'running on local URL:' in line:
                return line.split('running on local URL:')[1].split()[0]
        pytest.fail(f'tools/webui.py printed no URL:\n{"".join(self.output)}')

    @property
    def root(self) -> str:
        """The app's temporary folder."""
        (name,) = [name for name in os.listdir(self.temp_parent)
                   if name.startswith('cpabmm-webui-')]
        return osp.join(self.temp_parent, name)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.proxy.close()


@pytest.fixture(scope='module')
def app(tmp_path_factory):
    """The app on 127.0.0.1 with an empty checkpoint cache (the bundled
    models only). When the module is done it is stopped with SIGTERM, which
    must end it with 143 and delete its temporary folder, and it must not
    have tried to reach anything outside the machine."""
    parent = str(tmp_path_factory.mktemp('webui-temp'))
    running = RunningApp(parent, str(tmp_path_factory.mktemp('home')))
    running.url = running.wait_for_url()
    yield running
    status = running.stop()
    assert status == 143, ''.join(running.output)
    assert os.listdir(parent) == [], 'temporary files were left behind'
    assert running.proxy.requests == [], 'the app called outside the machine'


@pytest.fixture(scope='module')
def browser():
    """Headless Chromium through its system driver (never downloaded)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail('the browser test needs selenium: pip install -r requirements/tests.txt')
    binary = next((path for path in map(shutil.which, ('chromium', 'chromium-browser',
                                                        'google-chrome')) if path), None)
    driver_path = shutil.which('chromedriver')
    if binary is None or driver_path is None:
        if os.environ.get('CPABMM_REQUIRE_BROWSER') == '1':
            pytest.fail(MISSING_BROWSER)
        pytest.skip(MISSING_BROWSER)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ('--headless=new', '--disable-dev-shm-usage', '--window-size=1400,1900',
                     '--autoplay-policy=no-user-gesture-required', '--mute-audio'):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument('--no-sandbox')  # Chromium refuses to run as root otherwise
    options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def wait_for(browser, condition, timeout: float, what: str):
    """``condition(browser)`` once true (elements the page re-renders
    meanwhile are looked up again)."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)
                             ).until(condition)
    except TimeoutException:
        toasts = [toast.text for toast in browser.find_elements('css selector',
                                                                '[data-testid=toast-body]')]
        pytest.fail(f'timed out waiting for {what}; messages in the page: {toasts}')


def open_page(browser, url: str) -> None:
    browser.get(url)
    wait_for(browser, lambda b: b.find_elements('css selector', '#animate'), 60, 'the page')


def upload(browser, component: str, path: str) -> None:
    field = browser.find_element('css selector', f'#{component} input[type=file]')
    field.send_keys(path)


def requested_urls(browser) -> list:
    """The URLs the page has requested since the last call."""
    urls = []
    for entry in browser.get_log('performance'):
        message = json.loads(entry['message'])['message']
        if message['method'] == 'Network.requestWillBeSent':
            urls.append(message['params']['request']['url'])
    return urls


def test_browser_animates_the_bundled_example(app, browser, tmp_path):
    open_page(browser, app.url)
    upload(browser, 'source-file', SOURCE)
    upload(browser, 'driving-video', DRIVING)
    wait_for(browser, lambda b: b.find_elements('css selector', '#source-preview img'), 60,
             'the source preview')
    wait_for(browser, lambda b: b.find_elements('css selector', '#driving-video video'), 60,
             'the driving video')
    checked = [label.text for label in browser.find_elements('css selector', '#models label')
               if label.find_element('css selector', 'input').is_selected()]
    assert checked == ['cpabmm-lite (64x64, bundled)']  # the first bundled model
    browser.find_element('css selector', '#animate').click()

    progress_seen = []

    def finished(b):
        bars = b.find_elements('css selector', '[role=progressbar]')
        progress_seen.extend(bar.get_attribute('aria-valuetext') for bar in bars)
        return (b.find_elements('css selector', '#result-video video')
                and b.find_elements('css selector', '#downloads a[data-testid=download-link]'))

    wait_for(browser, finished, JOB_TIMEOUT, 'the result video')
    assert any(text and text.startswith('animating: ') and text.endswith(' / 48 frames')
               for text in progress_seen), progress_seen
    source_url = browser.execute_script(
        "return document.querySelector('#result-video video').src")
    prefix = f'{app.url}gradio_api/file={app.root}/jobs/'
    assert source_url.startswith(prefix) and source_url.endswith('/comparison.mp4')

    # the browser plays it: 48 frames at 12 fps are 4 seconds, three 256-pixel columns
    state = browser.execute_async_script("""
        const done = arguments[0];
        const video = document.querySelector('#result-video video');
        const report = () => done({ready: video.readyState, duration: video.duration,
            width: video.videoWidth, height: video.videoHeight, time: video.currentTime,
            error: video.error && video.error.code});
        video.muted = true;
        video.play().then(() => setTimeout(() => { video.pause(); report(); }, 700),
                          () => report());
    """)
    assert state['error'] is None and state['ready'] >= 2, state
    assert state['duration'] == pytest.approx(4.0, abs=0.1)
    assert (state['width'], state['height']) == (768, 256)
    assert state['time'] > 0, 'the video did not play'
    browser.execute_async_script("""
        const done = arguments[0];
        const video = document.querySelector('#result-video video');
        video.addEventListener('seeked', () => done(), {once: true});
        video.currentTime = 2.5;  // a frame with motion, for the screenshot
    """)

    # the same file downloads whole
    links = browser.find_elements('css selector', '#downloads a[data-testid=download-link]')
    names = [urllib.parse.unquote(link.get_attribute('href')).rsplit('/', 1)[1]
             for link in links]
    assert names == ['comparison.mp4', 'cpabmm-lite.mp4']
    downloaded = tmp_path / 'comparison.mp4'
    with urllib.request.urlopen(links[0].get_attribute('href'), timeout=30) as response:
        downloaded.write_bytes(response.read())
    with av.open(str(downloaded)) as container:
        frames = [frame.to_ndarray(format='rgb24') for frame in container.decode(video=0)]
    assert len(frames) == 48 and frames[0].shape == (256, 768, 3)
    summary = browser.find_element('css selector', '#summary').text
    assert summary.startswith('48 frames at 12 fps')

    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.execute_script('window.scrollTo(0, 0)')
    browser.save_screenshot(osp.join(ARTIFACTS, 'webui.png'))
    print(f'screenshot: {osp.join(ARTIFACTS, "webui.png")}')

    outside = [url for url in requested_urls(browser)
               if not url.startswith((app.url, 'data:', 'blob:'))]
    assert outside == [], 'the page requested something outside the machine'


def test_bad_upload_shows_the_cli_message(app, browser, tmp_path):
    bad = tmp_path / 'holiday.png'
    bad.write_bytes(b'not a picture')
    open_page(browser, app.url)
    upload(browser, 'source-file', str(bad))
    toasts = wait_for(browser, lambda b: [toast.text for toast in b.find_elements(
        'css selector', '[data-testid=toast-body]') if 'holiday.png' in toast.text], 60,
        'the error message')
    assert ("holiday.png: not a readable image (cannot identify image file 'holiday.png'); "
            'replace or remove the file') in toasts[0]
    assert app.root not in toasts[0]  # the temporary path is not shown
    # the bundled example is one click away
    browser.find_element('css selector', '#examples [data-testid=dataset-cell-0-0]').click()
    wait_for(browser, lambda b: b.find_elements('css selector', '#source-preview img'), 60,
             'the example\'s source preview')


def test_serves_nothing_outside_its_folder(app):
    for path in ('/etc/passwd', osp.join(REPO, 'README.md'), SOURCE,
                 osp.join(REPO, 'model_zoo', 'fomm_k10-lite_synthetic-64.pth')):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f'{app.url}gradio_api/file={path}', timeout=30)
        assert refused.value.code == 403, path
    assert urllib.parse.urlparse(app.url).hostname == '127.0.0.1'
