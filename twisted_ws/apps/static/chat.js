// The chat demo of twisted_ws: plain JavaScript, no build step.
// Protocol (JSON text messages):
//   to the server:   {"type": "join", "room": R, "name": N}, {"type": "message", "text": T}
//   from the server: welcome, joined, join, leave, users, message, error (see twisted_ws/apps/chat.py)
//
// When the connection is lost the page says so, forgets the room's members
// (it no longer knows them), reconnects by itself with a growing delay
// (1 s, 2 s, 4 s ... up to 15 s) and, once connected again, rejoins the
// room it was in under the same name.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const FIRST_DELAY = 1000;
  const MAX_DELAY = 15000;

  let socket = null;
  let socketPath = null;
  let myName = null;       // the name the server gave us in the current room
  let myRoom = null;       // the room we are in, or null
  let wanted = null;       // {room, name} the user asked for; rejoined after a reconnect
  let everJoined = false;  // a later "joined" for the same room is a rejoin
  let retryDelay = FIRST_DELAY;
  let retryTimer = null;
  let countdownTimer = null;

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

  function setStatus(kind, text) {
    $("status").className = kind;
    setText("status", text);
  }

  // The banner above the chat: shown while the connection is lost.
  function showBanner(text) {
    $("banner").hidden = false;
    setText("banner-text", text);
  }

  function hideBanner() {
    $("banner").hidden = true;
    setText("banner-text", "");
  }

  function handle(message) {
    switch (message.type) {
      case "welcome":
        setText("version", message.version);
        setText("subprotocol", message.subprotocol || "none");
        setText("compression", message.compression ? "on" : "off");
        break;
      case "joined": {
        const again = everJoined && message.room === (wanted && wanted.room) && myRoom === null;
        const same = message.room === myRoom && message.name === myName;
        myName = message.name;
        myRoom = message.room;
        everJoined = true;
        setText("room-title", "Room " + message.room + " as " + message.name);
        showUsers(message.users);
        if (again) addLine("notice", null, "Reconnected: you rejoined " + message.room + ".");
        else if (!same) addLine("notice", null, "You joined " + message.room + ".");
        hideBanner();
        setJoined(true);
        break;
      }
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

  async function webSocketPath() {
    if (socketPath !== null) return socketPath;
    try {
      const response = await fetch("config.json", { cache: "no-store" });
      if (response.ok) socketPath = (await response.json()).path || "/ws";
    } catch (e) { /* served without the chat configuration, or the server is down */ }
    return socketPath || "/ws";
  }

  function cancelRetry() {
    if (retryTimer !== null) clearTimeout(retryTimer);
    if (countdownTimer !== null) clearInterval(countdownTimer);
    retryTimer = countdownTimer = null;
  }

  // Forget what the page knew about the room: after a loss it is stale.
  function forgetRoom() {
    myRoom = null;
    setJoined(false);
    showUsers([]);
    setText("room-title", wanted ? "Not connected (was in room " + wanted.room + ")" : "Not in a room");
  }

  function scheduleReconnect(reason) {
    cancelRetry();
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, MAX_DELAY);
    let left = Math.ceil(delay / 1000);
    const say = () => showBanner(
      "Connection to the server lost (" + reason + "). Reconnecting in " + left + " s\u2026");
    say();
    setStatus("closed", "reconnecting in " + left + " s");
    countdownTimer = setInterval(() => {
      left = Math.max(left - 1, 0);
      say();
      setStatus("closed", "reconnecting in " + left + " s");
    }, 1000);
    retryTimer = setTimeout(() => { cancelRetry(); connect(); }, delay);
  }

  async function connect() {
    if (socket) return;
    cancelRetry();
    const path = await webSocketPath();
    if (socket) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + path);
    socket = ws;
    setStatus("connecting", "connecting");
    if (!$("banner").hidden) showBanner("Connection to the server lost. Reconnecting now\u2026");
    ws.onopen = () => {
      retryDelay = FIRST_DELAY;
      setStatus("connected", "connected");
      if (wanted) send({ type: "join", room: wanted.room, name: wanted.name });
      else hideBanner();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        try { handle(JSON.parse(event.data)); } catch (e) { addLine("theirs", null, event.data); }
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      const opened = $("status").className === "connected";
      const reason = "code " + event.code + (event.reason ? ": " + event.reason : "");
      forgetRoom();
      if (opened) addLine("error", null, "Connection lost (" + reason + ").");
      scheduleReconnect(reason);
    };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    const room = $("room").value.trim();
    const name = $("name").value.trim();
    if (myRoom !== null && room === myRoom && (name === myName || name === (wanted && wanted.name))) {
      return; // already in that room under that name: nothing to do
    }
    wanted = { room: room, name: name };
    if (!send({ type: "join", room: room, name: name })) {
      // Not connected (yet, or any more): connect now; the join is sent on opening.
      if (!socket) connect();
      setText("room-title", "Joining " + room + "\u2026");
    }
  });

  $("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text) return;
    if (!send({ type: "message", text: text })) {
      addLine("error", null, "Not sent: not connected.");
      return;
    }
    addLine("mine", myName, text);
    $("text").value = "";
  });

  $("name").value = "guest-" + Math.floor(Math.random() * 9000 + 1000);
})();
