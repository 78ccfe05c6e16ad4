"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (standard library only).

Chromium reads commands from its file descriptor 3 and writes replies and events to descriptor 4,
one JSON message per NUL-terminated record: no websocket, no port, no extra package. Enough to drive
a page as a person would: open it, type into a field, click, follow a link, read what is visible.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, else the Debian package's `chromium`, else another Chrome."""
    env = os.environ.get("CHROMIUM")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class CdpError(RuntimeError):
    pass


class Browser:
    """Headless Chromium with one page (`Browser(binary)` … `close()`; also a context manager)."""

    def __init__(self, binary: str, *, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.timeout, self._next, self._buf, self._events = timeout, 0, b"", []
        self._profile = tempfile.mkdtemp(prefix="shnor-chromium-")
        self._log = tempfile.TemporaryFile()     # Chromium's own messages (a pipe could fill and stall it)
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [binary, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}", "--allow-file-access-from-files"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")          # Chromium refuses to run as root with its sandbox
        # a tiny Python launcher puts our pipe ends on descriptors 3 and 4, where Chromium expects them
        launcher = (f"import os,sys;os.dup2({to_chrome_r},3);os.dup2({from_chrome_w},4);"
                    "os.execv(sys.argv[1],sys.argv[1:])")
        self.proc = subprocess.Popen([sys.executable, "-c", launcher, *args], pass_fds=(to_chrome_r, from_chrome_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.page("Page.enable")
        self.page("Runtime.enable")

    # ---- protocol ----------------------------------------------------------------------------
    def _send(self, method: str, params: dict, session: str | None) -> int:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        return self._next

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise CdpError("Chromium не ответил вовремя")
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")[-2000:]
                raise CdpError(f"Chromium закрыл канал отладки. {err}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params):
        ident = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def page(self, method: str, **params):
        return self.call(method, self.session, **params)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] == method:
                    return self._events.pop(i)
            msg = self._read(deadline)
            if "method" in msg:
                self._events.append(msg)

    # ---- what a person does ----------------------------------------------------------------------
    def open(self, url: str) -> None:
        self._events = [e for e in self._events if e["method"] != "Page.loadEventFired"]
        self.page("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str):
        res = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise CdpError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field by clicking it, select what is in it, type `text` (input events as from a keyboard)."""
        self.click(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).select()")
        self.page("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        """A left mouse click at the centre of the element (scrolled into view first)."""
        box = self.js(f"(function(){{var e=document.querySelector({json.dumps(selector)});if(!e)return null;"
                      "e.scrollIntoView({block:'center'});var r=e.getBoundingClientRect();"
                      "return {x:r.left+r.width/2,y:r.top+r.height/2,w:r.width,h:r.height};})()")
        if not box or not box["w"]:
            raise CdpError(f"на странице нет видимого элемента {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def choose(self, selector: str, value: str) -> None:
        """Choose an option of a <select> (its popup is not drawn headless): value, then «change»."""
        self.js(f"(function(){{var s=document.querySelector({json.dumps(selector)});s.focus();s.value={json.dumps(value)};"
                "s.dispatchEvent(new Event('change',{bubbles:true}));})()")

    def follow(self, selector: str) -> str:
        """Click a link and wait for the page it opens; returns the new address."""
        self._events = [e for e in self._events if e["method"] != "Page.loadEventFired"]
        self.click(selector)
        self.wait_event("Page.loadEventFired")
        return self.js("location.href")

    def visible_text(self, selector: str) -> list[str]:
        """innerText of the elements matching `selector` that are rendered (not display:none anywhere up)."""
        return self.js(f"Array.prototype.filter.call(document.querySelectorAll({json.dumps(selector)}),"
                       "function(e){return e.getClientRects().length>0;}).map(function(e){return e.innerText.trim();})")

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()
