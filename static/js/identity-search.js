/* The client page's identity search, as you type: the same results the
   search form's own submit lists (the page works without this script). */
(function () {
  "use strict";
  var box = document.querySelector(".identity-link");
  var input = document.getElementById("identity-q");
  var results = document.getElementById("identity-results");
  if (!box || !input || !results) {
    return;
  }
  var url = box.getAttribute("data-search-url");
  var minLength = parseInt(box.getAttribute("data-min-length"), 10) || 2;
  var timer = null;
  var latest = 0;

  function text(tag, value, className) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (className) {
      node.className = className;
    }
    return node;
  }

  function render(rows, term) {
    results.textContent = "";
    if (!rows.length) {
      results.appendChild(text("p", term.length < minLength
        ? "Type at least " + minLength + " characters."
        : "No identity matches \u201c" + term + "\u201d.", "muted small"));
      return;
    }
    rows.forEach(function (row) {
      var label = document.createElement("label");
      label.className = "identity-option";
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "identity";
      radio.value = row.id;
      radio.required = true;
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + row.provider + " \u00b7 "));
      label.appendChild(text("strong", row.name || "(no name)"));
      label.appendChild(document.createTextNode(" "));
      label.appendChild(text("span", row.external_id, "mono small"));
      if (row.external_reference) {
        label.appendChild(text("span", " ref " + row.external_reference, "muted small"));
      }
      label.appendChild(text("span", row.client
        ? " now linked to " + row.client.name : " not linked", "muted small"));
      results.appendChild(label);
    });
  }

  function search() {
    var term = input.value.trim();
    var ticket = ++latest;
    if (term.length < minLength) {
      render([], term);
      return;
    }
    fetch(url + "?q=" + encodeURIComponent(term), {
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.json() : { results: [] };
    }).then(function (data) {
      if (ticket === latest) {
        render(data.results || [], term);
      }
    }).catch(function () { /* the Search button still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
})();
