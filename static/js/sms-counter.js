/* The live counter under each text's wording: characters, text messages and the encoding,
   counted as the server counts them when it checks a template (clinic/sms/gsm.py and
   clinic/sms/wording.py check_template): the placeholders filled with the sample values and the
   opt-out line added, GSM-7 at 160 characters for one message and 153 a part when split (an
   extension character such as { or the euro sign takes two), and any other character turning
   the whole text into UCS-2 at 70 and 67.

   The page passes what the count needs (sample values, opt-out line, the limit, the words of
   the server's messages) in data attributes, so the two cannot drift apart silently; a test
   runs this file under node against the server's own count. Without JavaScript the counter
   stays hidden and the server's check on saving still refuses what it must. */
(function (root) {
  "use strict";

  var BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  var NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;

  function segmentsOf(units, single, multi) {
    if (units === 0) {
      return 0;
    }
    return units <= single ? 1 : Math.ceil(units / multi);
  }

  // As clinic.sms.gsm.encoding_of: the offending characters sorted by code point.
  function encodingOf(text) {
    var offending = [];
    var septets = 0;
    Array.from(text).forEach(function (ch) {
      if (EXTENDED.indexOf(ch) !== -1) {
        septets += 2;
      } else if (BASIC.indexOf(ch) !== -1) {
        septets += 1;
      } else if (offending.indexOf(ch) === -1) {
        offending.push(ch);
      }
    });
    if (offending.length === 0) {
      return { name: "GSM-7", units: septets, segments: segmentsOf(septets, 160, 153), offending: [] };
    }
    offending.sort(function (a, b) {
      return a.codePointAt(0) - b.codePointAt(0);
    });
    // A JavaScript string's length counts UTF-16 code units, as UCS-2 messages do.
    return { name: "UCS-2", units: text.length, segments: segmentsOf(text.length, 70, 67), offending: offending };
  }

  // As Python's str.format over a template: {{ and }} are braces, {name} a placeholder.
  // Returns the pieces, or null where Python's parser (or check_template) would refuse them.
  function parse(text) {
    var pieces = [];
    var literal = "";
    for (var i = 0; i < text.length; i += 1) {
      var ch = text[i];
      if (ch === "{" && text[i + 1] === "{") {
        literal += "{";
        i += 1;
      } else if (ch === "}" && text[i + 1] === "}") {
        literal += "}";
        i += 1;
      } else if (ch === "{") {
        var end = text.indexOf("}", i + 1);
        var name = end === -1 ? "" : text.slice(i + 1, end);
        if (!NAME.test(name)) {
          return null;
        }
        pieces.push(literal, { name: name });
        literal = "";
        i = end;
      } else if (ch === "}") {
        return null;
      } else {
        literal += ch;
      }
    }
    pieces.push(literal);
    return pieces;
  }

  function count(body, options) {
    var text = body.replace(/\r\n?/g, "\n").trim();
    var result = { empty: text === "", invalid: false, unknown: [], missingLink: false };
    var template = encodingOf(text);
    result.offending = template.offending;
    var pieces = text ? parse(text) : [];
    var rendered = text;
    if (pieces === null) {
      result.invalid = true;
    } else {
      var names = [];
      rendered = pieces
        .map(function (piece) {
          if (typeof piece === "string") {
            return piece;
          }
          names.push(piece.name);
          if (!Object.prototype.hasOwnProperty.call(options.sample, piece.name)) {
            if (result.unknown.indexOf(piece.name) === -1) {
              result.unknown.push(piece.name);
            }
            return "{" + piece.name + "}";
          }
          return options.sample[piece.name];
        })
        .join("");
      result.missingLink = !result.empty && options.needsLink && names.indexOf("link") === -1;
      result.unknown.sort();
    }
    var sent = encodingOf(text ? rendered + options.optOut : "");
    result.encoding = sent.name;
    result.units = sent.units;
    result.segments = sent.segments;
    result.tooLong = sent.segments > options.maxSegments;
    return result;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function describe(result, options) {
    if (result.empty) {
      return { summary: "Empty: write the text, or restore the built-in wording.", problems: [] };
    }
    var limits = result.encoding === "GSM-7" ? "160 fit in one text message, 153 a part when longer" : "70 fit in one text message, 67 a part when longer";
    var summary =
      plural(result.units, "character", "characters") +
      " with real details and the opt-out line (" + limits + "): " +
      plural(result.segments, "text message", "text messages") + ", " + result.encoding + ".";
    var problems = [];
    if (result.offending.length) {
      problems.push(
        "Not plain characters, which make it " + result.encoding + " and will not be saved: " +
          result.offending
            .map(function (ch) {
              return "\u201c" + ch + "\u201d" + (ch.trim() === "" ? " (U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + ")" : "");
            })
            .join(" ")
      );
    }
    if (result.invalid) {
      problems.push(options.messages.braces);
    }
    if (result.unknown.length) {
      problems.push("Unknown placeholders: " + result.unknown.map(function (n) { return "{" + n + "}"; }).join(", ") + ".");
    }
    if (result.missingLink) {
      problems.push(options.messages.link);
    }
    if (result.tooLong) {
      problems.push("Too long: at most " + plural(options.maxSegments, "text message", "text messages") + ".");
    }
    return { summary: summary, problems: problems };
  }

  function attach(textarea) {
    var box = textarea.closest("[data-sms-sample]");
    var status = document.getElementById(textarea.getAttribute("data-sms-counter"));
    if (!box || !status) {
      return;
    }
    var options = {
      sample: JSON.parse(box.getAttribute("data-sms-sample")),
      optOut: box.getAttribute("data-sms-opt-out"),
      maxSegments: Number(box.getAttribute("data-sms-max-segments")),
      needsLink: textarea.hasAttribute("data-sms-needs-link"),
      messages: {
        link: box.getAttribute("data-sms-link-missing"),
        braces: box.getAttribute("data-sms-braces"),
      },
    };
    function update() {
      var said = describe(count(textarea.value, options), options);
      var summary = document.createElement("p");
      summary.className = "sms-counter__summary";
      summary.textContent = said.summary;
      var parts = [summary];
      said.problems.forEach(function (problem) {
        var line = document.createElement("p");
        line.className = "sms-counter__problem";
        line.textContent = problem;
        parts.push(line);
      });
      status.replaceChildren.apply(status, parts);
      status.classList.toggle("sms-counter--problem", said.problems.length > 0);
    }
    // Read with the box: whoever reaches it hears its count too, not only on a change.
    var described = (textarea.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(status.id);
    textarea.setAttribute("aria-describedby", described.join(" "));
    status.hidden = false;
    update();
    textarea.addEventListener("input", update);
  }

  root.smsCounter = { count: count, describe: describe, encodingOf: encodingOf };
  if (typeof document !== "undefined") {
    document.querySelectorAll("textarea[data-sms-counter]").forEach(attach);
  }
})(typeof window !== "undefined" ? window : globalThis);
