# -*- test-case-name: tests.app.test_preload -*-
"""
Tests for L{finger.app.compose.preload}: after it, serving a request of any
kind imports nothing.

twistd drops privileges after L{finger.app.tap.makeService}; from then on the
process may not be able to read its own Python installation, so a module
imported on first use would fail the request that needed it.  Here a fresh
process builds the whole service (which calls C{preload}), notes its modules,
serves one request of every kind from real clients in another process
(finger, setter, web page, JSON, XML-RPC, and PB, logged in or not), and
lists what it imported meanwhile.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import Dict, List

from twisted.trial.unittest import SynchronousTestCase

from tests.certs import selfSigned
from tests.running import onLoopback

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SERVER = textwrap.dedent(
    """
    import json, sys
    from twisted.internet import reactor
    from finger.app import tap

    options = tap.Options()
    options.parseOptions(sys.argv[1:])
    top = tap.makeService(options, reactor)
    top.privilegedStartService()
    # What twistd has loaded when it drops privileges.
    before = set(sys.modules)

    def ready():
        ports = {
            name: service.port.getHost().port
            for name, service in top.namedServices.items()
            if getattr(service, "port", None) is not None
        }
        print(json.dumps(ports), flush=True)

    def lazy():
        print(json.dumps(sorted(set(sys.modules) - before)), flush=True)

    reactor.callWhenRunning(top.startService)
    reactor.callWhenRunning(ready)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.addSystemEventTrigger("after", "shutdown", lazy)
    reactor.run()
    """
)

_CLIENT = textwrap.dedent(
    """
    import json, socket, ssl, subprocess, sys, urllib.request, xmlrpc.client

    ports, cafile, passwordFile = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]

    def exchange(name, data):
        with socket.create_connection(("127.0.0.1", ports[name]), timeout=30) as s:
            s.sendall(data)
            answer = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return answer
                answer += chunk

    answers = [
        exchange("finger", b"moshez\\r\\n"),
        exchange("finger", b"/W moshez\\r\\n"),
        exchange("finger", b"nobody\\r\\n"),
        exchange("finger", b"\\r\\n"),
        exchange("finger", b"a@example.com\\r\\n"),
        exchange("setter", b"moshez\\nsecret\\nat work\\n"),
        exchange("setter", b"moshez\\nwrong\\nat work\\n"),
    ]
    web = "http://127.0.0.1:%d" % ports["web"]
    for path, accept in [("/", ""), ("/moshez", ""), ("/api/users", ""),
                         ("/api/users/moshez", ""), ("/moshez", "application/json")]:
        request = urllib.request.Request(web + path, headers={"Accept": accept} if accept else {})
        answers.append(urllib.request.urlopen(request, timeout=30).read())
    try:
        urllib.request.urlopen(web + "/nobody", timeout=30)
    except urllib.error.HTTPError as e:
        answers.append(e.read())
    proxy = xmlrpc.client.ServerProxy(web + "/RPC2")
    answers += [proxy.getUser("moshez"), proxy.getUsers()]
    context = ssl.create_default_context(cafile=cafile)
    https = "https://moshez:secret@localhost:%d/RPC2" % ports["https"]
    answers.append(xmlrpc.client.ServerProxy(https, context=context).setUser("moshez", "x"))
    pb = [sys.executable, "-m", "finger.clients.pb", "127.0.0.1:%d" % ports["pb"]]
    for arguments in (["moshez"], [], ["moshez", "--set", "on PB", "--password-file", passwordFile]):
        answers.append(subprocess.run(pb + arguments, capture_output=True, check=True).stdout)
    print(json.dumps([repr(answer) for answer in answers]))
    """
)


class PreloadTests(SynchronousTestCase):
    def setUp(self) -> None:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.statusFile = os.path.join(directory, "users")
        with open(self.statusFile, "w") as f:
            f.write("moshez: happy and well\n")
        certificate, key = selfSigned()
        self.certificate = os.path.join(directory, "server.pem")
        with open(self.certificate, "wb") as f:
            f.write(key + certificate)
        self.passwordFile = os.path.join(directory, "password")
        with open(self.passwordFile, "w") as f:
            f.write("secret\n")
        self.env = dict(os.environ, PYTHONPATH=_root)

    def serve(self) -> subprocess.Popen:  # type: ignore[type-arg]
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SERVER,
                "--file",
                self.statusFile,
                *onLoopback("--fingerport", "--setterport", "--webport", "--sslport", "--pbport"),
                "--ssl",
                "--certificate",
                self.certificate,
                "--auth",
                "memory:moshez:secret",
                "--login-delay",
                "0.01",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        self.addCleanup(self.stop, server)
        return server

    def stop(self, server: subprocess.Popen) -> None:  # type: ignore[type-arg]
        if server.poll() is None:
            server.kill()
            server.communicate()

    def test_requestsImportNothing(self) -> None:
        """
        Once C{makeService} (which calls C{preload}) has run, answering a
        request on every front-end, and stopping, imports no module.
        """
        server = self.serve()
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            self.fail(f"the server did not start: {server.communicate()[1]!r}")
        ports: Dict[str, int] = json.loads(line)
        self.assertEqual(sorted(ports), ["finger", "https", "pb", "setter", "web"])
        client = subprocess.run(
            [sys.executable, "-c", _CLIENT, json.dumps(ports), self.certificate, self.passwordFile],
            capture_output=True,
            env=self.env,
            timeout=120,
        )
        self.assertEqual(client.returncode, 0, client.stderr.decode("utf-8", "replace"))
        answers: List[str] = json.loads(client.stdout)
        self.assertIn(repr(b"OK: status of moshez saved\r\n"), answers)
        self.assertIn(repr(b"status of moshez saved\n"), answers)
        self.assertIn("True", answers)
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
        lazy = json.loads(out.splitlines()[-1])
        self.assertEqual(lazy, [], err.decode("utf-8", "replace"))
