// Keeps finger's pages up to date: each status shown on the page changes in
// place when the server's stream of changes (/api/events, Server-Sent
// Events) says it changed.  The elements to update carry data attributes:
//
//   data-live-user="NAME"   its text is NAME's status
//   data-live-short         ... shown on one line, as the front page does
//   data-live-empty="TEXT"  ... or TEXT, and the class "empty", when blank
//   data-live-list          the front page's list of users; its
//                           data-live-cut and data-live-limit say how a
//                           status is shortened (the server's own rule)
//   data-live-more          the list is cut: not every user is on it
//
// A status is only ever inserted as text (textContent), never as HTML.
// Without this script the pages are what the server rendered.
(function () {
  "use strict";

  var root = document.documentElement;
  var script = document.currentScript;
  var marked = document.querySelectorAll("[data-live-user]");
  var list = document.querySelector("[data-live-list]");
  if (!script || !(marked.length || list) || typeof EventSource !== "function") {
    return;
  }
  // Whether every user is on the list, so that one missing from it is new.
  var complete = list !== null && document.querySelector("[data-live-more]") === null;
  var cut = list ? list.getAttribute("data-live-cut") || "" : "";
  var limit = list ? parseInt(list.getAttribute("data-live-limit"), 10) || 80 : 80;
  var eventsURL = new URL("../api/events", script.src).href;

  // NAME -> the elements showing NAME's status.
  var shown = new Map();
  marked.forEach(function (element) {
    var user = element.getAttribute("data-live-user");
    if (!shown.has(user)) {
      shown.set(user, []);
    }
    shown.get(user).push(element);
  });

  function setState(state) {
    root.setAttribute("data-live-state", state);
  }

  // The front page's one-line form of a status: its first line, cut to
  // `limit` characters (code points, as the server counts them).
  function shortStatus(status) {
    var lines = status.split("\n");
    var first = Array.from(lines[0]);
    if (first.length > limit) {
      return first.slice(0, limit - 1).join("").trimEnd() + cut;
    }
    var more = lines.slice(1).some(function (line) { return line.length > 0; });
    return first.join("") + (more ? " " + cut : "");
  }

  function show(user, status) {
    var elements = shown.get(user);
    if (elements && status === null) {
      // Gone: the server knows what the page says now.
      reloadSoon();
      return;
    }
    if (!elements) {
      if (complete && status !== null) {
        // Someone new: the server knows where they go in the list, and
        // how the count and the rest of the page read now.
        reloadSoon();
      }
      return;
    }
    elements.forEach(function (element) {
      var text = element.hasAttribute("data-live-short") ? shortStatus(status) : status;
      // A user's page says so in words when the status is empty.
      var empty = element.getAttribute("data-live-empty");
      if (empty !== null) {
        var blank = text.trim() === "";
        element.classList.toggle("empty", blank);
        if (blank) {
          text = empty;
        }
      }
      if (element.textContent !== text) {
        element.textContent = text;
      }
    });
  }

  var reloading = false;
  function reloadSoon() {
    if (!reloading) {
      reloading = true;
      // Spread out the pages that all heard the same news.
      setTimeout(function () { location.reload(); }, Math.random() * 500);
    }
  }

  // Catch up with changes the stream cannot replay: read the page again
  // and take each status from it.
  function catchUp() {
    fetch(location.href, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) {
        return null;
      }
      return response.text();
    }).then(function (text) {
      if (text === null) {
        return;
      }
      var page = new DOMParser().parseFromString(text, "text/html");
      page.querySelectorAll("[data-live-user]").forEach(function (element) {
        var user = element.getAttribute("data-live-user");
        var mine = shown.get(user);
        if (!mine) {
          if (complete) {
            reloadSoon();
          }
          return;
        }
        var short = element.hasAttribute("data-live-short");
        mine.forEach(function (own) {
          if (own.hasAttribute("data-live-short") === short &&
              own.textContent !== element.textContent) {
            own.textContent = element.textContent;
          }
        });
      });
    }).catch(function () {
      // The next change, or the next reconnection, tries again.
    });
  }

  var retry = 1000;
  function connect() {
    setState("connecting");
    var source = new EventSource(eventsURL);
    // Whether this connection has had an event with an id: if it has,
    // the browser reconnects with Last-Event-ID and the server replays
    // what was missed; if not, nothing tells the server where we were.
    var resumable = false;

    source.addEventListener("open", function () {
      setState("open");
      retry = 1000;
      if (!resumable) {
        catchUp();
      }
    });
    source.addEventListener("status", function (event) {
      if (event.lastEventId) {
        resumable = true;
      }
      var change;
      try {
        change = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (change && typeof change.user === "string" &&
          (typeof change.status === "string" || change.status === null)) {
        show(change.user, change.status);
      }
    });
    source.addEventListener("reset", function () {
      // Too much happened to replay: start again from the page.
      source.close();
      setState("closed");
      reloadSoon();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream, and the browser will not try
        // again by itself: find out why.
        setState("closed");
        refused();
      } else {
        // The browser reconnects by itself, with Last-Event-ID.
        setState("connecting");
      }
    });
  }

  // After a refused stream: ask once more to see the answer.  No stream
  // here (a site without one answers 404) ends the updates; a busy server
  // says when to come back (503 and Retry-After); anything else is tried
  // again later, each time later still.
  function refused() {
    var controller = new AbortController();
    fetch(eventsURL, {
      headers: { Accept: "text/event-stream" },
      cache: "no-store",
      signal: controller.signal
    }).then(function (response) {
      controller.abort();
      if (response.status === 404 || response.status === 403 || response.status === 410) {
        setState("off");
        return;
      }
      var wait = retry;
      var after = parseInt(response.headers.get("Retry-After"), 10);
      if (response.status === 503 && after > 0) {
        wait = Math.min(after, 600) * 1000;
      }
      later(wait);
    }).catch(function () {
      later(retry);
    });
  }

  function later(wait) {
    setTimeout(connect, wait + Math.random() * wait);
    retry = Math.min(retry * 2, 60000);
  }

  connect();
})();
