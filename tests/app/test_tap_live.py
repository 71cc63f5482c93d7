"""
The pages that update themselves and the status form, in a real browser:
headless Chromium, driven by Selenium through Debian's chromedriver,
against the whole service on loopback over HTTPS with a certificate made
here.

Each test is skipped, saying what is missing, without Chromium, its
driver or Selenium.  Selenium blocks, so every call to the browser runs in
a thread while the reactor serves.
"""

import os
import time
from typing import Any, Callable, List, Tuple, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from finger.messages import FORM_BAD_TOKEN, FORM_FOREIGN_ORIGIN, LOGIN_FAILED
from tests.certs import selfSigned
from tests.running import LOOPBACK, startFinger
from tests.support import exchange, listeningPort, which

_T = TypeVar("_T")

CHROMEDRIVER = "/usr/bin/chromedriver"
"""
Debian's chromedriver (package C{chromium-driver}), the one driver these
tests use: Selenium is never left to download one.
"""


def _browserMissing() -> str:
    """
    What is missing to drive a browser, or C{""}.
    """
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    if which("chromium") is None:
        return "chromium is not installed (apt-get install chromium)"
    if not os.access(CHROMEDRIVER, os.X_OK):
        return f"{CHROMEDRIVER} is not installed (apt-get install chromium-driver)"
    return ""



def logIn(browser: Any, url: str, password: str) -> None:
    """
    Open C{url} in C{browser} and log in with C{password} on its form.
    """
    from selenium.webdriver.common.by import By

    driver = browser.driver
    driver.get(url)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def logInToForm(browser: Any, url: str) -> Any:
    """
    Log in as moshez on the page at C{url}, and wait for its status form:
    return the form's status field.
    """
    from selenium.webdriver.common.by import By

    logIn(browser, url, "secret")
    return browser.waitFor(
        lambda: browser.driver.find_elements(By.NAME, "status"), "the status form"
    )[0]


def submitStatus(field: Any, status: str) -> None:
    """
    Replace what the status C{field} holds with C{status}, and submit its
    form.
    """
    field.clear()
    field.send_keys(status)
    field.submit()


class Browser:
    """
    One headless Chromium, for one test: it trusts any certificate (the
    test's own is self-signed) and keeps its console log.
    """

    def __init__(self, profile: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = which("chromium") or "chromium"
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(argument)
        options.accept_insecure_certs = True
        # With the driver and the browser named, Selenium Manager has
        # nothing to find; offline, it could not download either.
        os.environ.setdefault("SE_OFFLINE", "true")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)
        self.logs: List[dict] = []

    def quit(self) -> None:
        self.driver.quit()

    def readLog(self) -> List[dict]:
        """
        The console's entries since the last time, kept in C{logs} too.
        """
        entries = self.driver.get_log("browser")
        self.logs.extend(entries)
        return entries  # type: ignore[no-any-return]

    def text(self, selector: str) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector).text  # type: ignore[no-any-return]

    def waitFor(self, check: Callable[[], Any], what: str, timeout: float = 10) -> Any:
        """
        Poll C{check} until it returns something true.
        """
        from selenium.common.exceptions import WebDriverException

        deadline = time.monotonic() + timeout
        while True:
            try:
                result = check()
            except WebDriverException:
                # The page is changing under us.
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up after {timeout} s waiting for {what}")
            time.sleep(0.02)

    def waitForPage(self, sentence: str) -> str:
        """
        Wait for a page whose text holds C{sentence} (a refusal, say), and
        return all of its text.
        """
        return self.waitFor(  # type: ignore[no-any-return]
            lambda: sentence in self.text("body") and self.text("body"),
            f"a page saying {sentence!r}",
        )


class _BrowserTestCase(TestCase):
    """
    The service with C{--ssl}, C{--auth} for moshez and the admin root, and
    the setter, on loopback; a browser to look at it.
    """

    timeout = 120
    extra: Tuple[str, ...] = ()

    def setUp(self) -> None:
        missing = _browserMissing()
        if missing:
            raise self.skipTest(missing)
        certificate, key = selfSigned()
        path = os.path.abspath(self.mktemp())
        with open(path, "wb") as f:
            f.write(certificate + key)
        self.top: Any = startFinger(
            self,
            "--ssl",
            "--sslport",
            LOOPBACK,
            "--certificate",
            path,
            "--auth",
            "memory:moshez:secret:root:toor",
            "--admins",
            "root",
            *self.extra,
            setter=True,
        )
        self.https = f"https://127.0.0.1:{listeningPort(self.top, 'https')}"
        self.http = f"http://127.0.0.1:{listeningPort(self.top, 'web')}"

    async def browser(self) -> Browser:
        profile = os.path.abspath(self.mktemp())
        browser: Browser = await deferToThread(Browser, profile)
        self.addCleanup(deferToThread, browser.quit)
        return browser

    def inBrowser(self, f: Callable[..., _T], *args: Any) -> "Deferred[_T]":
        return deferToThread(f, *args)

    def finger(self, query: bytes) -> "Deferred[bytes]":
        return exchange(reactor, f"tcp:127.0.0.1:{listeningPort(self.top, 'finger')}", query)

    def setStatus(self, status: str) -> "Deferred[bytes]":
        """
        Set moshez's status through the setter, as C{nc} would.
        """
        port = listeningPort(self.top, "setter")
        line = f"moshez\nsecret\n{status}\n".encode("utf-8")
        return exchange(reactor, f"tcp:127.0.0.1:{port}", line, halfClose=True)

    def assertCleanConsole(self, browser: Browser, allowed: tuple = ()) -> None:
        """
        The browser logged no error and no Content-Security-Policy
        violation, but those whose text holds one of C{allowed} (and a
        missing C{/favicon.ico}, which browsers ask for by themselves).
        """
        allowed = allowed + ("/favicon.ico - ",)
        bad = [
            entry
            for entry in browser.logs
            if (entry.get("level") == "SEVERE" or "Content Security Policy" in entry["message"])
            and not any(text in entry["message"] for text in allowed)
        ]
        self.assertEqual(bad, [])


class FormTests(_BrowserTestCase):
    """
    Logging in on a user's page and setting the status with its form.
    """

    async def test_setWithForm(self) -> None:
        """
        moshez logs in on their page, sets their status with the form, sees
        it on the page, and finger answers with it; then logs out.
        """
        browser = await self.browser()
        url = self.https + "/moshez"

        def logInAndSet() -> str:
            field = logInToForm(browser, url)
            self.assertEqual(browser.text(".login"), "moshez")
            submitStatus(field, "set from Chromium ☕")
            browser.waitFor(
                lambda: browser.text("#status") == "set from Chromium ☕", "the new status"
            )
            browser.readLog()
            return browser.driver.current_url  # type: ignore[no-any-return]

        self.assertEqual(await self.inBrowser(logInAndSet), url)
        self.assertEqual(await self.finger(b"moshez\r\n"), "set from Chromium ☕\r\n".encode())

        def logOut() -> None:
            from selenium.webdriver.common.by import By

            driver = browser.driver
            driver.find_element(By.CSS_SELECTOR, "form:last-of-type button").click()
            browser.waitFor(lambda: driver.find_elements(By.NAME, "password"), "the login form")
            self.assertEqual(driver.get_cookies(), [])
            browser.readLog()

        await self.inBrowser(logOut)
        self.assertCleanConsole(browser)

    async def test_refused(self) -> None:
        """
        A wrong password, a form without its token and a form sent from
        another site's page are refused, each saying why, and change
        nothing.
        """
        foreign = Resource()
        foreignPort = await serverFromString(reactor, LOOPBACK).listen(Site(foreign))
        self.addCleanup(foreignPort.stopListening)
        browser = await self.browser()
        url = self.https + "/moshez"

        def wrongPassword() -> str:
            logIn(browser, url, "guess")
            return browser.waitForPage(LOGIN_FAILED)

        self.assertEqual(await self.inBrowser(wrongPassword), LOGIN_FAILED)

        def withoutToken() -> str:
            field = logInToForm(browser, url)
            browser.driver.execute_script(
                "document.querySelectorAll('input[name=token]')"
                ".forEach(function (e) { e.remove(); });"
            )
            submitStatus(field, "no token")
            return browser.waitForPage(FORM_BAD_TOKEN)

        self.assertEqual(await self.inBrowser(withoutToken), FORM_BAD_TOKEN)

        # Another site's page, whose form posts to moshez's page with the
        # logged-in browser's token, as a page that learnt it would.
        def currentToken() -> str:
            from selenium.webdriver.common.by import By

            browser.driver.get(url)
            return browser.driver.find_element(By.NAME, "token").get_attribute("value") or ""

        token = await self.inBrowser(currentToken)
        foreign.putChild(
            b"page",
            Data(
                (
                    '<!DOCTYPE html><html><body><form method="post" action="'
                    + url
                    + '"><input type="hidden" name="action" value="set" />'
                    '<input type="hidden" name="status" value="set by another site" />'
                    '<input type="hidden" name="token" value="'
                    + token
                    + '" /><button type="submit">go</button></form></body></html>'
                ).encode("utf-8"),
                "text/html; charset=utf-8",
            ),
        )
        foreignURL = f"http://127.0.0.1:{foreignPort.getHost().port}/page"

        def fromElsewhere() -> str:
            from selenium.webdriver.common.by import By

            driver = browser.driver
            driver.get(foreignURL)
            driver.find_element(By.CSS_SELECTOR, "button").click()
            text = browser.waitForPage(FORM_FOREIGN_ORIGIN)
            browser.readLog()
            return text  # type: ignore[no-any-return]

        self.assertEqual(await self.inBrowser(fromElsewhere), FORM_FOREIGN_ORIGIN)
        self.assertEqual(await self.finger(b"moshez\r\n"), b"happy and well\r\n")
        # The refusals are 403 pages: the browser notes each; nothing else.
        self.assertCleanConsole(browser, ("status of 403",))


# Records, in the page, when the status of moshez first changes on it, and
# what it became; and every state the script's stream goes through.
_WATCH = """
var element = document.querySelector('[data-live-user="moshez"]');
window.fingerSeen = null;
window.fingerStates = [document.documentElement.getAttribute('data-live-state')];
new MutationObserver(function () {
  if (window.fingerSeen === null) {
    window.fingerSeen = {at: Date.now(), text: element.textContent,
                         children: element.children.length};
  }
}).observe(element, {childList: true, characterData: true, subtree: true});
new MutationObserver(function () {
  window.fingerStates.push(document.documentElement.getAttribute('data-live-state'));
}).observe(document.documentElement, {attributes: true, attributeFilter: ['data-live-state']});
"""


class LiveTests(_BrowserTestCase):
    """
    The front page and a user's page change in place as statuses change.
    """

    async def openPages(self, browser: Browser) -> List[str]:
        """
        Open the front page and moshez's page, each in its own window, and
        wait until both hear the stream; return the windows' handles.
        """

        def open() -> List[str]:
            driver = browser.driver
            handles = []
            for i, path in enumerate(("/", "/moshez")):
                if i:
                    driver.switch_to.new_window("window")
                driver.get(self.https + path)
                browser.waitFor(
                    lambda: driver.execute_script(
                        "return document.documentElement.getAttribute('data-live-state')"
                    )
                    == "open",
                    f"the stream of {path}",
                )
                driver.execute_script(_WATCH)
                handles.append(driver.current_window_handle)
            return handles

        return await self.inBrowser(open)

    def seen(self, browser: Browser, handle: str, timeout: float = 5) -> dict:
        """
        What the page in window C{handle} recorded of moshez's status
        changing.
        """
        driver = browser.driver
        driver.switch_to.window(handle)
        return browser.waitFor(  # type: ignore[no-any-return]
            lambda: driver.execute_script("return window.fingerSeen"),
            "the status to change on " + driver.current_url,
            timeout,
        )

    async def test_setterChangesPages(self) -> None:
        """
        A status set through the setter reaches the front page and the
        user's page within a second, without a reload, as text: markup in
        it is shown, not run or parsed; the front page shows it shortened
        as the server does.
        """
        from finger.frontends.web.elements import shortStatus

        browser = await self.browser()
        front, page = await self.openPages(browser)
        status = '<img src=x onerror="alert(1)"> & <b>bold</b> ' + "ø😀" * 45
        started = time.time() * 1000
        self.assertTrue((await self.setStatus(status)).startswith(b"OK:"))

        def look() -> List[dict]:
            seen = [self.seen(browser, handle) for handle in (front, page)]
            for handle in (front, page):
                browser.driver.switch_to.window(handle)
                self.assertEqual(
                    browser.driver.execute_script("return performance.navigation.type"), 0
                )
            browser.readLog()
            return seen

        onFront, onPage = await self.inBrowser(look)
        self.assertEqual(onFront["text"], shortStatus(status))
        self.assertEqual(onPage["text"], status)
        self.assertEqual((onFront["children"], onPage["children"]), (0, 0))
        for seen in (onFront, onPage):
            self.assertLess(seen["at"] - started, 1000, seen)
        self.assertCleanConsole(browser)

    async def test_newUser(self) -> None:
        """
        Someone new appears on the open front page.
        """
        browser = await self.browser()
        await self.openPages(browser)
        port = listeningPort(self.top, "setter")
        answer = await exchange(
            reactor, f"tcp:127.0.0.1:{port}", b"newbie root\ntoor\njust arrived\n", True
        )
        self.assertTrue(answer.startswith(b"OK:"), answer)

        def look() -> str:
            driver = browser.driver
            driver.switch_to.window(driver.window_handles[0])
            text = browser.waitFor(
                lambda: driver.execute_script(
                    "var e = document.querySelector('[data-live-user=\"newbie\"]');"
                    "return e && e.textContent;"
                ),
                "newbie on the front page",
                5,
            )
            browser.readLog()
            return text  # type: ignore[no-any-return]

        self.assertEqual(await self.inBrowser(look), "just arrived")
        self.assertCleanConsole(browser)


class ReconnectTests(_BrowserTestCase):
    """
    A stream that ends (here at each connection's --max-lifetime) is taken
    up again where it ended: a change made in between is not missed.
    """

    def setUp(self) -> None:
        self.extra = ("--max-lifetime", "6")
        super().setUp()

    async def test_resume(self) -> None:
        browser = await self.browser()
        url = self.https + "/moshez"

        def openAndWaitForEnd() -> None:
            driver = browser.driver
            driver.get(url)
            browser.waitFor(
                lambda: driver.execute_script(
                    "return document.documentElement.getAttribute('data-live-state')"
                )
                == "open",
                "the stream",
            )
            driver.execute_script(_WATCH)
            browser.waitFor(
                lambda: driver.execute_script(
                    "return document.documentElement.getAttribute('data-live-state')"
                )
                == "connecting",
                "the stream to end",
            )

        await self.inBrowser(openAndWaitForEnd)
        self.assertTrue((await self.setStatus("set while away")).startswith(b"OK:"))

        def look() -> Tuple[dict, List[str]]:
            driver = browser.driver
            seen = browser.waitFor(
                lambda: driver.execute_script("return window.fingerSeen"), "the change", 15
            )
            states = driver.execute_script("return window.fingerStates")
            browser.readLog()
            return seen, states

        seen, states = await self.inBrowser(look)
        self.assertEqual(seen["text"], "set while away")
        self.assertEqual(states[:3], ["open", "connecting", "open"])
        self.assertCleanConsole(browser)


class NoStreamTests(_BrowserTestCase):
    """
    A site without a stream (C{--no-listing}: no change is ever told).
    """

    extra = ("--no-listing",)

    async def test_stops(self) -> None:
        """
        The script finds there is no stream and stops asking: its page is
        the server's, and nothing but the stream's 404 is logged.
        """
        browser = await self.browser()

        def look() -> Tuple[str, str, int]:
            driver = browser.driver
            driver.get(self.https + "/moshez")
            state = browser.waitFor(
                lambda: driver.execute_script(
                    "return document.documentElement.getAttribute('data-live-state')"
                )
                == "off"
                and "off",
                "the script to stop",
            )
            time.sleep(2.5)
            browser.readLog()
            asked = driver.execute_script(
                "return performance.getEntriesByType('resource')"
                ".filter(function (e) { return e.name.indexOf('/api/events') >= 0; }).length"
            )
            return state, browser.text("#status"), asked

        state, status, asked = await self.inBrowser(look)
        self.assertEqual((state, status), ("off", "happy and well"))
        # The EventSource, then the one look at why it was refused.
        self.assertEqual(asked, 2)
        self.assertCleanConsole(browser, ("/api/events - Failed to load resource",))
