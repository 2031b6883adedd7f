// Qwen All-in-One chat page: talks to the WebSocket /chat, shows a badge per chosen analysis (sentiment by default),
// then the streamed reply.
// All model and user text is inserted with textContent, never as HTML.
(() => {
  "use strict";

  const TEXT = {
    zh: {
      tagline: "一个模型，多种技能：情感、意图、关键词、摘要、翻译 + 温暖对话",
      inputLabel: "输入消息",
      placeholder: "说点什么…（Enter 发送，Shift+Enter 换行）",
      send: "发送", stop: "停止",
      POSITIVE: "😄 LLM 情感判断: 正面", NEGATIVE: "😞 LLM 情感判断: 负面",
      loading: "模型加载中…", downloading: "正在下载模型：{p}%，{r} MB/s，约剩 {s} 秒", ready: "模型已就绪", error: "模型不可用", offline: "服务不可达",
      reconnecting: "连接已断开，正在重连…", reconnected: "已重新连接，对话继续（之前 {n} 轮）。",
      resumed: "继续本标签页的对话（之前 {n} 轮）。",
      stopped: "（已停止）", errorPrefix: "出错了：", queued: "排队中：第 {n} 位",
      tasksLegend: "回复前的分析",
      task: { sentiment: "情感", intent: "意图", keywords: "关键词", summary: "摘要", translate: "翻译" },
      param: { language: "目标语言" },
      value: { inquiry: "咨询", complaint: "投诉", chitchat: "闲聊", other: "其他" },
    },
    en: {
      tagline: "One model, many skills: sentiment, intent, keywords, summary, translation + warm chat",
      inputLabel: "Your message",
      placeholder: "Say something… (Enter to send, Shift+Enter for a new line)",
      send: "Send", stop: "Stop",
      POSITIVE: "😄 LLM sentiment: positive", NEGATIVE: "😞 LLM sentiment: negative",
      loading: "Model loading…", downloading: "Downloading the model: {p}%, {r} MB/s, about {s} s left", ready: "Model ready", error: "Model unavailable", offline: "Service unreachable",
      reconnecting: "Connection lost, reconnecting…",
      reconnected: "Reconnected: the conversation goes on ({n} earlier turns).",
      resumed: "Continuing this tab's conversation ({n} earlier turns).",
      stopped: "(stopped)", errorPrefix: "Error: ", queued: "Waiting for the model: place {n}",
      tasksLegend: "Analyses before the reply",
      task: { sentiment: "sentiment", intent: "intent", keywords: "keywords", summary: "summary", translate: "translate" },
      param: { language: "target language" },
      value: { inquiry: "inquiry", complaint: "complaint", chitchat: "chit-chat", other: "other" },
    },
  };

  const $ = (id) => document.getElementById(id);
  const transcript = $("transcript"), input = $("input"), sendButton = $("send"), stopButton = $("stop");
  const statusLine = $("status"), notice = $("notice"), langButton = $("lang"), composer = $("composer");
  const taskPicker = $("tasks");

  let lang = localStorage.getItem("allinone.lang") === "en" ? "en" : "zh";
  // One conversation per tab, kept across reloads and reconnects (sessionStorage is per tab): the service continues it
  // from its store, whichever replica the proxy picks by the id.
  const conversationId = sessionStorage.getItem("allinone.conversation") || newConversationId();
  sessionStorage.setItem("allinone.conversation", conversationId);
  let socket = null, current = null, retryDelay = 500, everConnected = false, statusKey = "loading", statusDetail = "", download = null;

  const t = (key) => TEXT[lang][key];

  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll(".badge[data-label]").forEach((el) => { el.textContent = badgeText(el.dataset.label, el.dataset.score); });
    document.querySelectorAll(".badge[data-analysis]").forEach((el) => { el.textContent = analysisText(JSON.parse(el.dataset.analysis)); });
    document.querySelectorAll("#tasks label[data-task] .name").forEach((el) => { el.textContent = taskName(el.parentElement.dataset.task); });
    document.querySelectorAll("#tasks input[data-param]").forEach((el) => { el.placeholder = el.ariaLabel = paramName(el.dataset.param); });
    langButton.textContent = lang === "zh" ? "EN" : "中文";
    renderStatus();
  }

  function badgeText(label, score) {
    return `${t(label)} (${Math.round(Number(score) * 100)}%)`;
  }

  const taskName = (task) => t("task")[task] || task;
  const paramName = (param) => t("param")[param] || param;

  // A task's answer as one line: its name, then a label (with its probability), a text, or phrases.
  function analysisText(a) {
    const answer = a.label != null ? `${t("value")[a.label] || a.label} (${Math.round(a.score * 100)}%)`
      : a.phrases ? a.phrases.join(" · ") : a.text;
    return `${taskName(a.task)}: ${answer}`;
  }

  // The tasks a message may ask for, from GET /api/tasks, each with a field per parameter; remembered across visits.
  async function loadTasks() {
    let tasks;
    try {
      const response = await fetch("/api/tasks", { headers: apiKeyHeader() });
      if (!response.ok) return;
      tasks = await response.json();
    } catch (e) {
      return;
    }
    const saved = JSON.parse(localStorage.getItem("allinone.tasks") || '["sentiment"]');
    for (const task of tasks) {
      const label = document.createElement("label");
      label.dataset.task = task.name;
      label.title = task.description;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = task.name;
      box.checked = saved.includes(task.name);
      box.addEventListener("change", () => localStorage.setItem("allinone.tasks", JSON.stringify(chosenTasks())));
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = taskName(task.name);
      label.append(box, name);
      for (const param of task.parameters || []) {
        const field = document.createElement("input");
        field.type = "text";
        field.size = 8;
        field.dataset.param = param;
        field.value = localStorage.getItem("allinone.param." + param) || (param === "language" ? "English" : "");
        field.placeholder = field.ariaLabel = paramName(param);
        field.addEventListener("change", () => localStorage.setItem("allinone.param." + param, field.value));
        label.append(field);
      }
      taskPicker.appendChild(label);
    }
    taskPicker.hidden = tasks.length === 0;
  }

  const chosenTasks = () => [...taskPicker.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);

  // The parameters of the chosen tasks, e.g. {"language":"English"} when translate is chosen.
  function chosenParams() {
    const params = {};
    taskPicker.querySelectorAll("input[type=checkbox]:checked").forEach((box) => {
      box.parentElement.querySelectorAll("input[data-param]").forEach((field) => { params[field.dataset.param] = field.value; });
    });
    return params;
  }

  function apiKeyHeader() {
    const key = new URLSearchParams(location.hash.slice(1)).get("key");
    return key ? { Authorization: "Bearer " + key } : {};
  }

  function renderStatus() {
    let text = t(statusKey);
    if (download) {
      const known = (v) => (v >= 0 ? v : "?");
      text = text.replace("{p}", known(download.downloadPercent))
        .replace("{r}", (download.downloadBytesPerSecond / 1e6).toFixed(1)).replace("{s}", known(download.downloadSecondsLeft));
    }
    statusLine.textContent = text + (statusDetail ? ` — ${statusDetail}` : "");
    statusLine.className = "status " + (statusKey === "ready" ? "ready" : statusKey === "loading" || statusKey === "downloading" ? "loading" : "error");
  }

  async function pollHealth() {
    try {
      const response = await fetch("/q/health/ready", { cache: "no-store" });
      const body = await response.json();
      const model = (body.checks || []).find((c) => c.name === "model");
      const state = model && model.data ? model.data.state : null;
      statusKey = response.ok ? "ready" : state === "LOADING" ? "loading" : state === "DOWNLOADING" ? "downloading" : "error";
      statusDetail = !response.ok && statusKey === "error" && model && model.data ? (model.data.reason || "") : "";
      download = statusKey === "downloading" ? model.data : null;
    } catch (e) {
      statusKey = "offline";
      statusDetail = "";
      download = null;
    }
    renderStatus();
    setTimeout(pollHealth, statusKey === "ready" ? 10000 : 2000);
  }

  function scrollDown() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  function add(parent, className, text) {
    const el = document.createElement("div");
    el.className = className;
    el.textContent = text;
    parent.appendChild(el);
    scrollDown();
    return el;
  }

  function setStreaming(streaming) {
    sendButton.disabled = streaming || !socket || socket.readyState !== WebSocket.OPEN;
    stopButton.hidden = !streaming;
  }

  function finishTurn() {
    if (current && current.reply) current.reply.classList.remove("typing");
    if (current && current.typing) current.typing.remove();
    current = null;
    setStreaming(false);
    input.focus();
  }

  function newConversationId() {
    // crypto.randomUUID needs a secure context; getRandomValues works on plain http too.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function onConversation(frame) {
    if (everConnected) {
      notice.textContent = t("reconnected").replace("{n}", frame.turns);
    } else if (frame.turns > 0) {
      notice.textContent = t("resumed").replace("{n}", frame.turns);
    } else {
      return;
    }
    notice.hidden = false;
    setTimeout(() => { notice.hidden = true; }, 4000);
  }

  function onFrame(frame) {
    if (frame.type === "conversation") {
      onConversation(frame);
      return;
    }
    if (!current) {
      if (frame.type === "error") add(transcript, "msg error", t("errorPrefix") + frame.message);
      return;
    }
    if (frame.type !== "queued" && current.queued) {
      current.queued.remove();
      current.queued = null;
    }
    switch (frame.type) {
      case "queued":
        if (!current.queued) {
          current.queued = add(current.turn, "queued", "");
          current.turn.insertBefore(current.queued, current.typing);
        }
        current.queued.textContent = t("queued").replace("{n}", frame.position);
        break;
      case "sentiment": {
        const badge = add(current.turn, "badge " + frame.label, badgeText(frame.label, frame.score));
        badge.dataset.label = frame.label;
        badge.dataset.score = frame.score;
        current.turn.insertBefore(badge, current.typing);
        break;
      }
      case "analysis": {
        const badge = add(current.turn, "badge analysis", analysisText(frame));
        badge.dataset.analysis = JSON.stringify(frame);
        current.turn.insertBefore(badge, current.typing);
        break;
      }
      case "token":
        if (!current.reply) {
          current.reply = add(current.turn, "msg assistant typing", "");
          current.typing.remove();
          current.typing = null;
        }
        current.reply.textContent += frame.text;
        scrollDown();
        break;
      case "done":
        if (frame.finish === "cancelled") add(current.turn, "stopped", t("stopped"));
        finishTurn();
        break;
      case "error":
        add(current.turn, "msg error", t("errorPrefix") + frame.message);
        finishTurn();
        break;
    }
  }

  function connect() {
    // With an API key set on the service, open the page as /#key=<key>: browsers cannot add headers to a WebSocket.
    const key = new URLSearchParams(location.hash.slice(1)).get("key");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat"
        + "?conversation=" + encodeURIComponent(conversationId) + (key ? "&api_key=" + encodeURIComponent(key) : "");
    socket = new WebSocket(url);
    socket.onopen = () => {
      retryDelay = 500;
      notice.hidden = true;
      setStreaming(false);
    };
    socket.onmessage = (event) => {
      try {
        onFrame(JSON.parse(event.data));
      } catch (e) {
        console.error("bad frame", event.data, e);
      }
      if (!everConnected) everConnected = true;
    };
    socket.onclose = () => {
      if (current) {
        add(current.turn, "msg error", t("reconnecting"));
        finishTurn();
      }
      notice.textContent = t("reconnecting");
      notice.hidden = false;
      setStreaming(false);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  function send() {
    const text = input.value;
    if (!text.trim() || current || !socket || socket.readyState !== WebSocket.OPEN) return;
    const turn = document.createElement("section");
    turn.className = "turn";
    transcript.appendChild(turn);
    add(turn, "msg user", text);
    current = { turn, reply: null, typing: add(turn, "msg assistant typing", "") };
    const params = chosenParams();
    socket.send(JSON.stringify(taskPicker.hidden ? { text }
      : Object.keys(params).length ? { text, tasks: chosenTasks(), params } : { text, tasks: chosenTasks() }));
    input.value = "";
    setStreaming(true);
  }

  composer.addEventListener("submit", (e) => { e.preventDefault(); send(); });
  input.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter is a newline; Enter that confirms an IME composition (Chinese input) is not a send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  stopButton.addEventListener("click", () => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  });
  langButton.addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("allinone.lang", lang);
    applyLanguage();
  });

  applyLanguage();
  setStreaming(false);
  pollHealth();
  loadTasks();
  connect();
  input.focus();
})();
