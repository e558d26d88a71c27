// The portal's only script: PIN buttons, copy, drag and drop, quoting, the severity 1 switch.
// Everything works without it (plain forms); it only saves page loads.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=csrf-token]").content;

  function fetchPin(url, kind) {
    var body = new FormData();
    body.append("kind", kind);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" }
    }).then(function (r) { return r.json(); });
  }

  function box(kind) { return document.querySelector(".pin-box[data-kind='" + kind + "']"); }

  function hide(kind) {
    var digits = document.getElementById("pin-" + kind), keypad = document.getElementById("keypad-" + kind);
    digits.textContent = ""; digits.hidden = true; keypad.textContent = ""; keypad.hidden = true;
  }

  document.querySelectorAll("form.reveal").forEach(function (form) {
    var button = form.querySelector("button");
    var kind = form.dataset.kind;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var digits = document.getElementById("pin-" + kind);
      if (!digits.hidden) { hide(kind); button.textContent = "Show PIN"; return; }
      fetchPin(form.action, kind).then(function (data) {
        if (data.error) { document.getElementById("copied-" + kind).textContent = data.error; return; }
        digits.textContent = data.pin; digits.hidden = false;
        var keypad = document.getElementById("keypad-" + kind);
        keypad.textContent = "On the phone keypad type " + data.keypad; keypad.hidden = false;
        button.textContent = "Hide PIN";
      });
    });
  });

  document.querySelectorAll("button.copy-pin").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.dataset.kind, status = document.getElementById("copied-" + kind);
      var digits = document.getElementById("pin-" + kind);
      var ready = digits.hidden ? fetchPin(button.dataset.url, kind).then(function (d) { return d.pin; })
                                : Promise.resolve(digits.textContent);
      ready.then(function (pin) {
        if (!pin) { status.textContent = "There is no PIN to copy."; return; }
        return navigator.clipboard.writeText(pin).then(function () {
          status.textContent = "PIN copied to the clipboard.";
        });
      }).catch(function () { status.textContent = "Copying failed: press Show PIN and copy it by hand."; });
    });
  });

  // Drag and drop onto the file picker's zone: the dropped files become the input's files.
  document.querySelectorAll(".dropzone").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]"), list = zone.querySelector("#chosen-files");
    function show() {
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + " (" + Math.ceil(f.size / 1024) + " KB)";
        list.appendChild(li);
      });
    }
    input.addEventListener("change", show);
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault(); zone.classList.remove("over");
      var all = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
      Array.prototype.forEach.call(e.dataTransfer.files, function (f) { all.items.add(f); });
      input.files = all.files; show();
    });
  });

  // Quote: the message, each line prefixed with "> ", goes into the reply box.
  document.querySelectorAll("button.quote").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.closest(".msg").querySelector(".body").textContent.trim();
      var box = document.getElementById("body");
      var quoted = button.dataset.author + " wrote:\n" + text.split("\n").map(function (l) { return "> " + l; }).join("\n") + "\n\n";
      box.value = quoted + box.value; box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    });
  });

  // Severity 1: the form gives way to the hotline number and the PIN.
  var form = document.getElementById("ticket-form"), sev1 = document.getElementById("severity-one");
  if (form && sev1) {
    form.querySelectorAll("input[name=severity]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        var one = radio.value === "1" && radio.checked;
        sev1.hidden = !one; form.hidden = one;
        if (one) { sev1.querySelector("h2").focus && sev1.scrollIntoView(); }
      });
    });
    var back = sev1.querySelector(".not-sev1");
    back.addEventListener("click", function (e) {
      e.preventDefault(); sev1.hidden = true; form.hidden = false;
      form.querySelector("input[name=severity][value='2']").checked = true;
    });
  }
}());
