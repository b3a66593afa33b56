// The chat demo of twisted_ws: plain JavaScript, no build step.
// Protocol (JSON text messages):
//   to the server:   {"type": "join", "room": R, "name": N}, {"type": "message", "text": T}
//   from the server: welcome, joined, join, leave, users, message, error (see twisted_ws/apps/chat.py)
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let myName = null;

  function setText(id, value) { $(id).textContent = value; }

  function addLine(kind, from, text) {
    const li = document.createElement("li");
    li.className = kind;
    if (from !== null) {
      const who = document.createElement("span");
      who.className = "from";
      who.textContent = from;
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(text));
    $("messages").appendChild(li);
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  function showUsers(users) {
    const list = $("users");
    list.textContent = "";
    for (const name of users) {
      const li = document.createElement("li");
      li.textContent = name;
      if (name === myName) li.className = "me";
      list.appendChild(li);
    }
    setText("user-count", String(users.length));
  }

  function setJoined(joined) {
    $("text").disabled = !joined;
    $("send-button").disabled = !joined;
    if (joined) $("text").focus();
  }

  function handle(message) {
    switch (message.type) {
      case "welcome":
        setText("version", message.version);
        setText("subprotocol", message.subprotocol || "none");
        setText("compression", message.compression ? "on" : "off");
        break;
      case "joined":
        myName = message.name;
        setText("room-title", "Room " + message.room + " as " + message.name);
        showUsers(message.users);
        addLine("notice", null, "You joined " + message.room + ".");
        setJoined(true);
        break;
      case "join":
        showUsers(message.users);
        addLine("notice", null, message.name + " joined.");
        break;
      case "leave":
        showUsers(message.users);
        addLine("notice", null, message.name + " left.");
        break;
      case "users":
        showUsers(message.users);
        break;
      case "message":
        addLine(message.name === myName ? "mine" : "theirs", message.name, message.text);
        break;
      case "error":
        addLine("error", null, message.reason);
        break;
    }
  }

  function connect(path, onOpen) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path);
    setText("status", "connecting");
    socket.onopen = () => {
      $("status").className = "connected";
      setText("status", "connected");
      onOpen();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        try { handle(JSON.parse(event.data)); } catch (e) { addLine("theirs", null, event.data); }
      }
    };
    socket.onclose = (event) => {
      $("status").className = "closed";
      setText("status", "closed (" + event.code + (event.reason ? ": " + event.reason : "") + ")");
      setJoined(false);
      socket = null;
    };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function join() {
    send({ type: "join", room: $("room").value.trim(), name: $("name").value.trim() });
  }

  async function webSocketPath() {
    try {
      const response = await fetch("config.json", { cache: "no-store" });
      if (response.ok) return (await response.json()).path || "/ws";
    } catch (e) { /* served without the chat configuration */ }
    return "/ws";
  }

  $("join").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (socket) { join(); return; }
    connect(await webSocketPath(), join);
  });

  $("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text) return;
    send({ type: "message", text: text });
    addLine("mine", myName, text);
    $("text").value = "";
  });

  $("name").value = "guest-" + Math.floor(Math.random() * 9000 + 1000);
})();
