/* The desk calendar: drag a visit onto a free time to move it there.

   Progressive: without this script every visit links to its page, whose form moves it. On a
   drop the script sends that same form to the move endpoint, asking for JSON, then reloads the
   calendar or shows the clinic's reason for refusing. */
(function () {
  "use strict";

  var table = document.querySelector("table.calendar");
  if (!table) {
    return;
  }
  var csrf = table.getAttribute("data-csrf");
  var message = document.getElementById("calendar-message");
  var dragged = null;

  function say(text) {
    if (message) {
      message.textContent = text;
    }
  }

  function clearTargets() {
    table.querySelectorAll(".is-drop-target").forEach(function (cell) {
      cell.classList.remove("is-drop-target");
    });
  }

  table.querySelectorAll("a.visit[data-move-url]").forEach(function (block) {
    block.addEventListener("dragstart", function (event) {
      dragged = block;
      block.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", block.getAttribute("data-move-url"));
    });
    block.addEventListener("dragend", function () {
      block.classList.remove("is-dragging");
      clearTargets();
    });
  });

  table.querySelectorAll("td.cell--free").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (dragged) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        cell.classList.add("is-drop-target");
      }
    });
    cell.addEventListener("dragleave", function () {
      cell.classList.remove("is-drop-target");
    });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      clearTargets();
      if (!dragged) {
        return;
      }
      var block = dragged;
      dragged = null;
      move(block, cell);
    });
  });

  function move(block, cell) {
    var start = cell.getAttribute("data-start");
    var room = cell.getAttribute("data-room");
    var form = new URLSearchParams();
    form.set("csrf_token", csrf);
    form.set("date", start.slice(0, 10));
    form.set("time", start.slice(11, 16));
    if (room) {
      // A room's column: the visit keeps its practitioner and takes this room.
      form.set("practitioner", block.getAttribute("data-practitioner"));
      form.set("room", room);
    } else {
      form.set("practitioner", cell.getAttribute("data-practitioner"));
      form.set("room", "");
    }
    say("Moving the visit…");
    fetch(block.getAttribute("data-move-url"), {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
      body: form,
      credentials: "same-origin",
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          // An expired sign-in or form: the page itself says what to do.
          return { status: response.status, answer: { ok: false, message: "The visit could not be moved (" + response.status + "). Reload the page and try again." } };
        }
        return response.json().then(function (answer) {
          return { status: response.status, answer: answer };
        });
      })
      .then(function (result) {
        if (result.answer.ok) {
          window.location.reload();
        } else {
          say(result.answer.message || "The visit could not be moved.");
        }
      })
      .catch(function () {
        say("The visit could not be moved: the connection failed. Try again.");
      });
  }
})();
